#!/usr/bin/env bash
# A million cases in bounded memory: imports N generated cases into SQLite and measures, at N,
# what an admin feels (a measurement, not a test: nothing here asserts on time or memory).
#
#   bash bench/scale.sh [N] [POOL]        defaults: N=100000, POOL=20000
#   BIN=path/to/helpdesk bash bench/scale.sh N     (another build)
#
# 1. bench/gen_mail.py writes POOL realistic messages without attachments (new requests,
#    threaded replies, HTML, auto-replies from 2,000 customers); copy K of the pool gets its
#    own Message-IDs (`.cK` in each id, References and In-Reply-To alike, so threads stay
#    threads), until there are N messages, written as three mbox files: the first CHUNK, the
#    bulk, the last CHUNK (CHUNK = N/10, at most 10,000).
# 2. `helpdesk import mbox` of the first CHUNK into an empty database, of the bulk, and of the
#    last CHUNK: intake's rate empty and at N.
# 3. each CLI view at N: its time and peak RSS (GNU time), with a share of the cases made
#    overdue, resolved and closed first, so the views have something to show.
# 4. the scheduler's round with nothing due (`run --once`: clocks_secs), twice.
# 5. the database's bytes per case against the raw bytes per message.
# KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
POOL="${2:-20000}"
if [ "$N" -lt 20 ]; then
    echo "scale.sh: N must be at least 20" >&2
    exit 2
fi
CHUNK=$(( N / 10 < 10000 ? N / 10 : 10000 ))
[ "$POOL" -le "$N" ] || POOL="$N"
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin helpdesk
    BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/helpdesk"
fi
WORK="$(mktemp -d /tmp/hdscale.XXXXXX)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

cat > "$WORK/helpdesk.toml" <<TOML
[helpdesk]
address = "support@example.test"
name = "IT Service Desk"
[database]
url = "sqlite:$WORK/helpdesk.db"
[inbound]
kind = "stdin"
[outbound]
kind = "file"
path = "$WORK/outbox"
TOML
H=("$BIN" --config "$WORK/helpdesk.toml")

python3 bench/gen_mail.py --count "$POOL" --to support@example.test --out "$WORK/pool" \
    --customers 2000 --no-attachments --seed 7 >/dev/null
python3 - "$WORK" "$N" "$CHUNK" <<'PY'
import os, re, sys
work, n, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = sorted(os.listdir(os.path.join(work, "pool", "new")))
pool = [open(os.path.join(work, "pool", "new", f), "rb").read() for f in names]
ids = re.compile(rb"<([0-9a-f]{16}\.\d+)@")
escape = re.compile(rb"^(>*From )", re.M)
total = 0
outs = [open(os.path.join(work, f), "wb") for f in ("first.mbox", "bulk.mbox", "last.mbox")]
for i in range(n):
    copy, raw = divmod(i, len(pool))
    raw = pool[raw]
    if copy:
        raw = ids.sub(lambda m: b"<" + m.group(1) + b".c%d@" % copy, raw)
    total += len(raw)
    part = 0 if i < chunk else (2 if i >= n - chunk else 1)
    outs[part].write(b"From scale@example.test Mon Dec  7 00:00:00 2026\n"
                     + escape.sub(rb">\1", raw.replace(b"\r\n", b"\n")).rstrip(b"\n") + b"\n\n")
for f in outs:
    f.close()
open(os.path.join(work, "raw_bytes"), "w").write(str(total))
PY
rm -rf "$WORK/pool"
RAW_BYTES=$(cat "$WORK/raw_bytes")

# import PART COUNT: prints the rate
import() {
    local start end
    start=$(date +%s.%N)
    "${H[@]}" import mbox "$WORK/$1.mbox" > "$WORK/$1.out" 2> "$WORK/$1.log"
    end=$(date +%s.%N)
    rm -f "$WORK/$1.mbox"
    python3 -c "print('%.0f' % ($2 / ($end - $start)))"
}
EMPTY_RATE=$(import first "$CHUNK")
BULK_RATE=$(import bulk $(( N - 2 * CHUNK )))
AT_N_RATE=$(import last "$CHUNK")
CASES=$(sqlite3 "$WORK/helpdesk.db" "SELECT COUNT(*) FROM cases")

# Some history: a tenth of the cases resolved long ago and closed, a tenth resolved and
# closing, one in 200 past its target (overdue), a seventh on the network team.
sqlite3 "$WORK/helpdesk.db" > /dev/null <<'SQL'
UPDATE cases SET status = 'closed', resolved_at = created_at + 3600000 * (id % 50),
    closed_at = created_at + 3600000 * (id % 50) + 432000000, due_at = NULL, warn_at = NULL,
    first_response_at = created_at + 60000 * (id % 90), first_response_due_at = NULL,
    first_response_warn_at = NULL, follow_up_at = NULL
    WHERE id % 10 = 1;
UPDATE cases SET status = 'resolved', resolved_at = created_at + 3600000,
    close_at = created_at + 3600000 + 432000000, due_at = NULL, warn_at = NULL,
    first_response_at = created_at + 600000, first_response_due_at = NULL,
    first_response_warn_at = NULL, follow_up_at = NULL
    WHERE id % 10 = 2;
UPDATE cases SET due_at = 1000, breached_at = 1000, sla_stage = 2 WHERE id % 200 = 3;
UPDATE cases SET team = 'network' WHERE id % 7 = 0;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
DB_BYTES=$(stat -c %s "$WORK/helpdesk.db")
TICKET=$(sqlite3 "$WORK/helpdesk.db" "SELECT ticket FROM cases WHERE id = $(( CASES / 2 ))")

# view LABEL ARGS...: "label  seconds  peak RSS MiB  last line"
view() {
    local label="$1"
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "${H[@]}" "$@" > "$WORK/view.out" 2> "$WORK/view.err" \
        || { echo "scale.sh: $label failed:" >&2; cat "$WORK/view.err" >&2; exit 1; }
    read -r secs kib < "$WORK/time.txt"
    printf "  %-44s %6.2f s  %5.1f MiB  %s\n" "$label" "$secs" "$(echo "$kib / 1024" | bc -l)" \
        "$(tail -n 1 "$WORK/view.out" | cut -c1-60)"
}
# round: the scheduler's round time of one `run --once`
round() {
    "${H[@]}" run --once > /dev/null 2> "$WORK/round.log"
    sed -n 's/.*clocks_secs=\([0-9.e-]*\).*/\1/p' "$WORK/round.log" | tail -n 1
}

echo "bench/scale.sh: $CASES cases from $N generated messages ($(( RAW_BYTES / N )) bytes each on average)"
echo "intake (import mbox, messages/s): empty database $EMPTY_RATE, bulk $BULK_RATE, at $N: $AT_N_RATE ($(python3 -c "print('%.0f' % (100 * $AT_N_RATE / $EMPTY_RATE))")% of empty)"
echo "views at $CASES cases:"
view "cases list" cases list
view "cases list --overdue" cases list --overdue
view "cases list --status resolved" cases list --status resolved
view "cases list --team network" cases list --team network
view "cases list --requester customer7@example.test" cases list --requester customer7@example.test
view "cases list --offset $(( CASES / 2 ))" cases list --offset $(( CASES / 2 ))
view "cases list --json" cases list --json
view "cases list --all (to /dev/null)" cases list --all
view "cases show $TICKET" cases show "$TICKET"
view "report sla" report sla
view "report sla --since 2026-01-01" report sla --since 2026-01-01
view "quarantine list" quarantine list
view "outbox list" outbox list
FIRST_ROUND=$(round)
SECOND_ROUND=$(round)
echo "scheduler round (run --once, nothing due): ${FIRST_ROUND} s, then ${SECOND_ROUND} s"
python3 -c "print('database: %d bytes for %d cases = %.0f bytes per case, %.2fx the raw %d bytes per message'
    % ($DB_BYTES, $CASES, $DB_BYTES / $CASES, ($DB_BYTES / $CASES) / ($RAW_BYTES / $N), $RAW_BYTES / $N))"
