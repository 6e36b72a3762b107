#!/usr/bin/env bash
# Measures the scheduler's due work: N cases taken in through a Maildir, then every one of them
# made due at once (half resolved with the reopen window over, half past their resolution
# target), and one `helpdesk run --once` closes the first half (a closed notice each) and sends
# the breach notices of the second (a team notification each). Prints cases/s for that work.
#
#   bash bench/clocks.sh [N]        (default N=5000; builds the release binary first)
#
# A measurement, not a test: nothing here asserts on time.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-5000}"
command -v sqlite3 >/dev/null || { echo "bench/clocks.sh needs the sqlite3 tool: apt-get install sqlite3" >&2; exit 1; }
cargo build --release --quiet
BIN="$PWD/target/release/helpdesk"
WORK="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

cat > "$WORK/helpdesk.toml" <<TOML
[helpdesk]
address = "support@example.test"
name = "IT Service Desk"
auto_reply_limit = 1000000
auto_reply_global_limit = 1000000
[database]
url = "sqlite:helpdesk.db"
[inbound]
kind = "maildir"
path = "Maildir"
[outbound]
kind = "file"
path = "outbox"
[teams.service-desk]
address = "desk@example.test"
[teams.triage]
address = "triage@example.test"
[sla]
digest = "off"
TOML

mkdir -p "$WORK/Maildir/new" "$WORK/Maildir/cur" "$WORK/Maildir/tmp"
for i in $(seq 1 "$N"); do
  printf 'From: Customer %d <customer%d@example.test>\r\nTo: support@example.test\r\nSubject: Printer %d jams\r\nMessage-ID: <clock.%d@customer.example.test>\r\n\r\nThe printer jams on every page.\r\n' \
    "$i" "$((i % 500))" "$i" "$i" > "$WORK/Maildir/new/$(printf %010d "$i").bench"
done

cd "$WORK"
"$BIN" --config helpdesk.toml run --once > /dev/null 2>&1
NOW=$(($(date +%s) * 1000))
sqlite3 helpdesk.db <<SQL
UPDATE cases SET status = 'resolved', resolved_at = $NOW - 4000, close_at = $NOW - 1000,
       clock_since = NULL, due_at = NULL, warn_at = NULL WHERE id % 2 = 0;
UPDATE cases SET due_at = $NOW - 1000, warn_at = $NOW - 2000, sla_stage = 0,
       first_response_at = $NOW WHERE id % 2 = 1;
SQL
/usr/bin/time -f "%M" -o rss.txt env HELPDESK_LOG=info "$BIN" --config helpdesk.toml run --once > summary.txt 2>log.txt
SECS=$(grep -o 'clocks_secs=[0-9.]*' log.txt | cut -d= -f2)
python3 - "$N" "$SECS" "$(cat rss.txt)" "$(cat summary.txt)" <<'PY'
import sys
n, secs, rss_kb, summary = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"cases:    {n} due at once ({n // 2} to close, {n - n // 2} past their target)")
print(f"summary:  {summary}")
print(f"clocks:   {secs:.2f} s  ({n / secs:.0f} cases/s, each its own transaction with its mail)")
print(f"peak RSS: {rss_kb / 1024:.1f} MiB")
PY
