#!/usr/bin/env bash
# Measures what an idle daemon costs: `helpdesk run` with the quick-start configuration
# (examples/helpdesk.toml), once per intake, with nothing arriving and nothing due, and CPU time
# read from /proc over a window. The desk holds one open case already past its weekly follow-up
# time outside the follow-up categories (work the scheduler must not wait for), as a desk a week
# old does.
#
#   bash bench/idle.sh [SECONDS]          (default 60; builds the release binary first)
#   BIN=path/to/helpdesk INTAKES="maildir stdin" bash bench/idle.sh 60
#
# Intakes: maildir (the quick start: inotify on var/Maildir/new), imap (a private Dovecot +
# Postfix from tests/mailstack, IDLE on), stdin (`kind = "stdin"`: mail only through
# `helpdesk ingest`), lmtp (`kind = "lmtp"` on a Unix socket, nobody delivering). Each daemon
# settles for SETTLE seconds (default 5) first. Prints, per
# intake, the CPU used over the window as a percentage of one core, and the RSS at its start
# and end. A measurement, not a test: nothing here asserts on time. Needs sqlite3; imap needs
# what tests/mailstack needs (root for Postfix, or python3-aiosmtpd).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
SECS="${1:-60}"
SETTLE="${SETTLE:-5}"
INTAKES="${INTAKES:-maildir imap stdin lmtp}"
command -v sqlite3 >/dev/null || { echo "bench/idle.sh needs the sqlite3 tool: apt-get install sqlite3" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin helpdesk
    BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/helpdesk"
fi
TICK=$(getconf CLK_TCK)
WORK="$(mktemp -d /tmp/hdidle.XXXXXX)"
cleanup() {
    [ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null || true
    [ -e "$WORK/stack/stack.env" ] && bash "$REPO/tests/mailstack/stop.sh" "$WORK/stack" --purge >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# desk NAME INBOUND: the quick-start config under $WORK/NAME/etc, its state in $WORK/NAME/var,
# with [inbound] replaced by INBOUND (TOML lines).
desk() {
    mkdir -p "$WORK/$1/etc"
    python3 - "$REPO/examples/helpdesk.toml" "$2" > "$WORK/$1/etc/helpdesk.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
inbound = sys.argv[2]
print(re.sub(r"(?ms)^\[inbound\]\n.*?(?=^\[outbound\])", "[inbound]\n" + inbound + "\n\n", text), end="")
PY
    echo "$WORK/$1/etc/helpdesk.toml"
}

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# measure NAME CONFIG: seeds the desk, runs the daemon, prints one line.
measure() {
    local name="$1" cfg="$2" var="$WORK/$1/var"
    # One case a week old and more: open, outside the follow-up categories, past follow_up.
    "$BIN" --config "$cfg" ingest < tests/fixtures/mail/plain.eml > /dev/null
    sqlite3 "$var/helpdesk.db" "UPDATE cases SET follow_up_at = $(( $(date +%s) * 1000 - 60000 ))"
    HELPDESK_LOG=info "$BIN" --config "$cfg" run 2> "$WORK/$name/daemon.log" &
    DAEMON=$!
    sleep "$SETTLE"
    if ! kill -0 "$DAEMON" 2>/dev/null; then
        echo "$name: the daemon did not start:"; tail -n 5 "$WORK/$name/daemon.log"
        DAEMON=""
        return
    fi
    local t0 r0 t1 r1
    t0=$(cpu_ticks "$DAEMON"); r0=$(rss_kib "$DAEMON")
    sleep "$SECS"
    t1=$(cpu_ticks "$DAEMON"); r1=$(rss_kib "$DAEMON")
    kill "$DAEMON"; wait "$DAEMON" || true
    DAEMON=""
    python3 - "$name" "$t0" "$t1" "$TICK" "$SECS" "$r0" "$r1" <<'PY'
import sys
name, t0, t1, tick, secs, r0, r1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
cpu = (t1 - t0) / tick
print(f"{name:8} idle CPU {100 * cpu / secs:6.2f}% of a core ({cpu:.2f} s over {secs:.0f} s), "
      f"RSS {r0 / 1024:.1f} MiB at the start, {r1 / 1024:.1f} MiB at the end")
PY
}

echo "idle daemon ($BIN), ${SECS}s per intake after ${SETTLE}s to settle"
for intake in $INTAKES; do
    case "$intake" in
        maildir)
            measure maildir "$(desk maildir $'kind = "maildir"\npath = "../var/Maildir"\npoll_interval = "2s"')"
            ;;
        stdin)
            measure stdin "$(desk stdin 'kind = "stdin"')"
            ;;
        lmtp)
            measure lmtp "$(desk lmtp "kind = \"lmtp\"
listen = \"unix:$WORK/lmtp.sock\"")"
            ;;
        imap)
            PORT_BASE=auto MAIL_USERS="support:supportpw" bash tests/mailstack/start.sh "$WORK/stack" >/dev/null
            # shellcheck disable=SC1091
            . "$WORK/stack/stack.env"
            measure imap "$(desk imap "kind = \"imap\"
host = \"127.0.0.1\"
port = $IMAP_PORT
security = \"none\"
username = \"support\"
password = \"supportpw\"")"
            bash tests/mailstack/stop.sh "$WORK/stack" --purge >/dev/null 2>&1 || true
            ;;
        *) echo "unknown intake $intake (maildir, imap, stdin, lmtp)" >&2; exit 2 ;;
    esac
done
