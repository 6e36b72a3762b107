#!/usr/bin/env bash
# Faults and floods, measured (a measurement, not a test: nothing here asserts on time).
#
#   bash bench/faults.sh [BACKLOG] [OUTAGE_SECONDS]      defaults: 10000 120
#   ONLY=backlog,restart,outage,disk picks scenarios (default: all)
#
# Starts a private Dovecot + Postfix (tests/mailstack) on loopback, builds the release binary,
# and runs bench/faults.py, which prints one line per figure:
#  1. backlog: BACKLOG realistic messages (bench/gen_mail.py) wait in the support mailbox; the
#     daemon starts on them (IMAP, IDLE); a customer's message APPENDed one second later: when
#     is it acknowledged? Peak RSS of the daemon over the drain.
#  2. IMAP restart during IDLE: Dovecot is stopped and started under an idle daemon; how long
#     until the daemon is back, and until a message sent after the restart is acknowledged.
#  3. SMTP outage: Postfix is stopped for OUTAGE_SECONDS while 20 requests arrive; after it
#     is back, how long until every acknowledgment is delivered, and whether each Message-ID
#     arrived exactly once.
#  4. full disk: the database on a 16 MiB tmpfs (root only) is filled while mail arrives in a
#     Maildir; the log line; how long after space returns intake has taken in everything, and
#     whether any message was lost, quarantined or taken twice.
# Needs root (Postfix, mount) or python3-aiosmtpd (bridge; then 3 and 4 are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKLOG="${1:-10000}"
OUTAGE="${2:-120}"
REPO="$PWD"

cargo build --release --quiet --bin helpdesk
WORK="$(mktemp -d /tmp/hdfaults.XXXXXX)"
cleanup() {
    pkill -f "$WORK/.*helpdesk.toml" 2>/dev/null || true
    umount -l "$WORK/disk/state" 2>/dev/null || true
    bash "$REPO/tests/mailstack/stop.sh" "$WORK/stack" --purge >/dev/null 2>&1 || true
    # A server the benchmark restarted has a PID stop.sh does not know.
    pkill -f "dovecot -c $WORK/stack" 2>/dev/null || true
    pkill -f "master -c $WORK/stack" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

USERS="support:supportpw live:livepw probe:probepw outage:outagepw"
for i in $(seq 1 50); do USERS="$USERS customer$i:customer${i}pw"; done
PORT_BASE=auto MAIL_USERS="$USERS" bash tests/mailstack/start.sh "$WORK/stack" >/dev/null
set -a
# shellcheck disable=SC1091
. "$WORK/stack/stack.env"
set +a
python3 bench/faults.py --bin "$REPO/target/release/helpdesk" --work "$WORK" \
    --backlog "$BACKLOG" --outage "$OUTAGE" ${ONLY:+--only "$ONLY"}
