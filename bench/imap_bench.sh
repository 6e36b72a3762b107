#!/usr/bin/env bash
# The live-mail benchmark (a measurement, not a test: nothing here asserts on time).
#
#   bash bench/imap_bench.sh [N] [N_RSS] [SAMPLES]      defaults: 5000 10000 50
#   PG=postgres://postgres@127.0.0.1:5432 bash bench/imap_bench.sh   (also drains into PostgreSQL)
#   BIN=path/to/helpdesk bash bench/imap_bench.sh      (another build, e.g. an earlier commit's)
#
# Starts a private Dovecot + Postfix (tests/mailstack) on loopback and then:
#  1. fills the support mailbox with N realistic messages (bench/gen_mail.py: new requests,
#     threaded replies, HTML-only, attachments, auto-replies) and measures
#     a. the physical baseline: a plain IMAP client fetching every message (examples/imap_fetch,
#        the same crate and batch size as the daemon), run twice: cold (Dovecot indexes the new
#        files) and warm;
#     b. `helpdesk run --once` draining the same mailbox into SQLite: IMAP fetch, parse,
#        classify, store, mark \Seen; then delivering the acknowledgments through Postfix;
#     c. Postfix's smtp-source sending as many mails through the same Postfix: 4 sessions each
#        keeping its connection (-d, as helpdesk does: the ceiling delivery is measured against),
#        4 sessions with a connection per mail, and 1 session keeping its connection.
#  2. peak RSS of `helpdesk run --once` draining N_RSS messages (GNU time's maximum RSS).
#  3. latency from an IMAP APPEND into the support mailbox to the acknowledgment arriving in the
#     customer's mailbox, with the daemon running (`helpdesk run`), SAMPLES messages one after
#     another: once with IDLE, once with IDLE off and a 100 ms poll, for comparison; then with
#     LMTP intake, from an SMTP submission to Postfix (which delivers to helpdesk's socket).
# Needs root (Postfix) or python3-aiosmtpd (bridge), as tests/mailstack does; builds release.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-5000}"
N_RSS="${2:-10000}"
SAMPLES="${3:-50}"
REPO="$PWD"

FETCH="$REPO/target/release/examples/imap_fetch"
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin helpdesk --example imap_fetch
    BIN="$REPO/target/release/helpdesk"
elif [ ! -x "$FETCH" ]; then
    cargo build --release --quiet --example imap_fetch
fi

WORK="$(mktemp -d /tmp/hdbench.XXXXXX)"
cleanup() {
    [ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null || true
    bash "$REPO/tests/mailstack/stop.sh" "$WORK/stack" --purge >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

USERS="support:supportpw bulk:bulkpw live:livepw probe:probepw lmtpdesk:lmtpdeskpw sink:sinkpw pgdesk:pgdeskpw"
for i in $(seq 1 50); do USERS="$USERS customer$i:customer${i}pw"; done
PORT_BASE=auto MAIL_USERS="$USERS" LMTP_USERS=lmtpdesk bash tests/mailstack/start.sh "$WORK/stack" >/dev/null
# shellcheck disable=SC1091
. "$WORK/stack/stack.env"

# config NAME USER [INBOUND_EXTRA]: SQLite under $WORK/NAME, IMAP in (plain, loopback), SMTP out
# through Postfix's MX-style port. One customer sends many messages here, so the hourly cap on
# automatic replies is lifted: every new case is acknowledged.
config() {
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/helpdesk.toml" <<TOML
[helpdesk]
address = "$2@example.test"
name = "IT Service Desk"
auto_reply_limit = 1000000
auto_reply_global_limit = 1000000
[database]
url = "${DB_URL:-sqlite:helpdesk.db}"
[inbound]
kind = "imap"
host = "127.0.0.1"
port = $IMAP_PORT
security = "none"
username = "$2"
password = "$2pw"
${3:-}
[outbound]
kind = "smtp"
host = "127.0.0.1"
port = $SMTP_PORT
security = "none"
TOML
    echo "$WORK/$1/helpdesk.toml"
}

# drain CONFIG: runs `run --once`, prints "messages intake_s sent delivery_s rss_kib"
drain() {
    HELPDESK_LOG=info /usr/bin/time -f "%M" -o "$WORK/rss.txt" "$BIN" --config "$1" run --once \
        > "$WORK/summary.txt" 2> "$WORK/log.txt"
    python3 - "$WORK/log.txt" "$(cat "$WORK/rss.txt")" <<'PY'
import re, sys
log = open(sys.argv[1]).read()
m = re.search(r"run --once finished messages=(\d+) intake_secs=([\d.e-]+) .*?sent=(\d+) delivery_secs=([\d.e-]+)", log)
if not m:
    sys.exit("no summary in the log:\n" + log[-2000:])
print(*m.groups(), sys.argv[2])
PY
}

echo "== 1. drain $N messages"
python3 bench/gen_mail.py --count "$N" --to support@example.test \
    --out "$MAILDIR_ROOT/support/Maildir" --customers 50
COLD=$("$FETCH" --host 127.0.0.1 --port "$IMAP_PORT" --user support --password supportpw)
WARM=$("$FETCH" --host 127.0.0.1 --port "$IMAP_PORT" --user support --password supportpw)
echo "raw IMAP fetch, cold: $COLD"
echo "raw IMAP fetch, warm: $WARM"
read -r MSGS INTAKE SENT DELIVERY RSS <<< "$(drain "$(config drain support)")"
cat "$WORK/summary.txt"
python3 - "$MSGS" "$INTAKE" "$SENT" "$DELIVERY" "$RSS" "$WARM" <<'PY'
import re, sys
msgs, intake, sent, delivery, rss = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
warm = float(re.search(r"= ([\d.]+) msg/s", sys.argv[6]).group(1))
rate = msgs / intake
print(f"helpdesk intake: {msgs} messages in {intake:.2f} s = {rate:.0f} msg/s "
      f"({100 * rate / warm:.1f}% of the warm raw fetch rate {warm:.0f} msg/s)")
print(f"helpdesk delivery: {sent} acknowledgments through Postfix in {delivery:.2f} s = {sent / delivery:.0f} mail/s")
print(f"helpdesk run --once total: {intake + delivery:.2f} s, peak RSS {rss / 1024:.1f} MiB")
PY

# Postfix's own load generator through the same server, with the same number of sessions as
# helpdesk's outbound.connections (4) and with one, messages the size of an acknowledgment: the
# ceiling for delivery. After Postfix has handed on what it queued, like helpdesk found it.
wait_queue() {
    if [ "$MTA" = postfix ]; then
        for _ in $(seq 600); do
            [ -z "$(find "$PF_QUEUE"/incoming "$PF_QUEUE"/active "$PF_QUEUE"/deferred -type f 2>/dev/null | head -n 1)" ] && break
            sleep 0.1
        done
    fi
}
if [ "$MTA" = postfix ] && command -v smtp-source >/dev/null; then
    # -d keeps each session's connection from one mail to the next, as helpdesk does: the
    # baseline of the ratio. Without -d, smtp-source opens a connection per mail (for reference).
    for run in "4 -d" "4" "1 -d"; do
        read -r sessions keep <<<"$run"
        label="$sessions sessions$([ -n "${keep:-}" ] && echo ", connections kept" || echo ", a connection per mail")"
        wait_queue
        start=$(date +%s.%N)
        smtp-source ${keep:-} -s "$sessions" -m "$SENT" -l 2400 -f probe@example.test \
            -t sink@example.test "127.0.0.1:$SMTP_PORT"
        end=$(date +%s.%N)
        python3 -c "import sys; n, t, s = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]; print(f'smtp-source ({s}): {n} mails in {t:.2f} s = {n / t:.0f} mail/s')" \
            "$SENT" "$(echo "$end - $start" | bc -l)" "$label"
    done
    echo "(helpdesk delivery above: outbound.connections = 4, the default)"
fi

# PG=postgres://user@host:port: the same drain into PostgreSQL (a fresh database hdbench_drain),
# from a second mailbox holding the same generated messages (same seed, same bytes).
if [ -n "${PG:-}" ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS hdbench_drain" -c "CREATE DATABASE hdbench_drain"
    python3 bench/gen_mail.py --count "$N" --to pgdesk@example.test \
        --out "$MAILDIR_ROOT/pgdesk/Maildir" --customers 50 >/dev/null
    read -r MSGS INTAKE SENT DELIVERY RSS <<< "$(DB_URL="$PG/hdbench_drain" drain "$(DB_URL="$PG/hdbench_drain" config pgdrain pgdesk)")"
    python3 -c "import sys; m, i, s, d = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]); print(f'helpdesk on PostgreSQL: intake {m} messages in {i:.2f} s = {m / i:.0f} msg/s; delivery {s} in {d:.2f} s = {s / d:.0f} mail/s')" \
        "$MSGS" "$INTAKE" "$SENT" "$DELIVERY"
fi

echo "== 2. peak RSS draining $N_RSS messages"
python3 bench/gen_mail.py --count "$N_RSS" --to bulk@example.test \
    --out "$MAILDIR_ROOT/bulk/Maildir" --customers 50 --seed 2
read -r MSGS INTAKE SENT DELIVERY RSS <<< "$(drain "$(config rss bulk)")"
echo "drained $MSGS messages in $INTAKE s, delivered $SENT in $DELIVERY s; peak RSS $((RSS / 1024)) MiB"

# latency NAME EXTRA [lmtp]: the daemon on `live` (IMAP) or `lmtpdesk` (its LMTP socket, which
# Postfix delivers that address to), SAMPLES probes, time until each acknowledgment arrives in
# the INBOX of `probe`. A probe is an IMAP APPEND into the support mailbox, or with lmtp, an
# SMTP submission to Postfix (the whole path: Postfix queues it, delivers it over LMTP, and
# helpdesk answers).
latency() {
    local cfg user=live
    [ "${3:-}" = lmtp ] && user=lmtpdesk
    cfg=$(config "$1" "$user" "$2")
    if [ "${3:-}" = lmtp ]; then
        python3 - "$cfg" "$RUN_DIR/lmtp-lmtpdesk.sock" <<'PY'
import re, sys
cfg, sock = sys.argv[1], sys.argv[2]
text = open(cfg).read()
inbound = f'[inbound]\nkind = "lmtp"\nlisten = "unix:{sock}"\nsocket_group = "postfix"\n'
open(cfg, "w").write(re.sub(r"\[inbound\]\n(?:[^\[]*\n)", inbound, text, count=1))
PY
    fi
    HELPDESK_LOG=info "$BIN" --config "$cfg" run 2> "$WORK/$1/daemon.log" &
    DAEMON=$!
    python3 - "$IMAP_PORT" "$SAMPLES" "$1" "$WORK/$1/daemon.log" "$SMTP_PORT" "$user" "${3:-imap}" <<'PY'
import imaplib, smtplib, statistics, sys, time
port, samples, name, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
smtp_port, user, mode = int(sys.argv[5]), sys.argv[6], sys.argv[7]
ready = "IMAP connected" if mode == "imap" else "helpdesk running"
deadline = time.time() + 20
while ready not in open(log).read():
    if time.time() > deadline:
        sys.exit("the daemon did not start:\n" + open(log).read())
    time.sleep(0.02)
support = imaplib.IMAP4("127.0.0.1", port); support.login("live", "livepw")
customer = imaplib.IMAP4("127.0.0.1", port); customer.login("probe", "probepw")
customer.select("INBOX")
lat = []
for i in range(samples):
    msg = (f"From: Customer <probe@example.test>\r\nTo: {user}@example.test\r\n"
           f"Subject: latency probe {name} {i}: printer offline\r\n"
           f"Message-ID: <lat-{name}-{i}@client.example.test>\r\n\r\nPrinter offline.\r\n").encode()
    t0 = time.perf_counter()
    if mode == "imap":
        support.append("INBOX", None, None, msg)
    else:
        with smtplib.SMTP("127.0.0.1", smtp_port) as s:
            s.sendmail("probe@example.test", [f"{user}@example.test"], msg)
    while True:
        customer.noop()
        typ, data = customer.search(None, "SUBJECT", f'"latency probe {name} {i}:"')
        if data[0]:
            break
        if time.perf_counter() - t0 > 30:
            sys.exit(f"no acknowledgment for probe {i} within 30 s")
        time.sleep(0.005)
    lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.2)
slowest = max(range(len(lat)), key=lambda i: lat[i])
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
how = "APPEND" if mode == "imap" else "SMTP submission to Postfix"
print(f"latency {how} -> acknowledgment in the customer's INBOX ({name}, {samples} samples): "
      f"p50 {statistics.median(lat):.0f} ms, p99 {p(0.99):.0f} ms, min {lat[0]:.0f} ms, "
      f"max {lat[-1]:.0f} ms (probe #{slowest})")
PY
    kill "$DAEMON"
    wait "$DAEMON" || true
    DAEMON=""
}

echo "== 3. latency"
# Let Postfix finish delivering the acknowledgments of phase 2 first, or the first probe's
# acknowledgment queues behind thousands of them.
wait_queue
latency idle ""
latency poll $'idle = false\npoll_interval = "100ms"'
if [ "$MTA" = postfix ]; then
    latency lmtp "" lmtp
fi
