#!/usr/bin/env bash
# Measures `helpdesk run --once` draining a local Maildir into SQLite with the file transport:
# N messages built from the fixture corpus (new requests, threaded replies, HTML, attachments,
# auto-replies, bounces), each with a unique Message-ID. Prints messages/s and peak RSS.
#
#   bash bench/maildir_drain.sh [N]        (default N=5000; builds the release binary first)
#   BIN=path/to/helpdesk bash bench/maildir_drain.sh [N]   (another build, e.g. to compare commits)
#
# A measurement, not a test: nothing here asserts on time. The live IMAP/SMTP benchmark with
# its targets is bench/imap_bench.sh. KEEP=1 keeps the work directory; WRAP="perf record -g"
# runs the binary under a profiler. RULES=path/to/rules.toml uses that rules file.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-5000}"
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet
    BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/helpdesk"
fi
WORK="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

cat > "$WORK/helpdesk.toml" <<TOML
[helpdesk]
address = "support@example.test"
name = "IT Service Desk"
${RULES:+rules = \"$RULES\"}
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
TOML

python3 - "$WORK/Maildir" "$N" <<'PY'
import os, sys, random, re
root, n = sys.argv[1], int(sys.argv[2])
for d in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
fixtures = "tests/fixtures/mail"
skip = {"not_a_message.eml", "malformed.eml"}
corpus = [open(os.path.join(fixtures, f), "rb").read()
          for f in sorted(os.listdir(fixtures)) if f.endswith(".eml") and f not in skip]
rng = random.Random(42)
for i in range(n):
    raw = rng.choice(corpus)
    # A unique Message-ID and sender per message, so each is a new message, not a duplicate.
    raw = re.sub(rb"(?im)^Message-ID:.*$", b"Message-ID: <bench.%d@customer.example.test>" % i, raw, count=1)
    raw = re.sub(rb"(?im)^From: (.*?)<([^@>]+)@", lambda m: b"From: %s<%s.%d@" % (m.group(1), m.group(2), i % 500), raw, count=1)
    with open(os.path.join(root, "new", "%010d.bench" % i), "wb") as f:
        f.write(raw)
PY

cd "$WORK"
"$BIN" --config helpdesk.toml migrate >/dev/null
START=$(date +%s.%N)
/usr/bin/time -f "%M" -o rss.txt ${WRAP:-} "$BIN" --config helpdesk.toml run --once > summary.txt 2>log.txt
END=$(date +%s.%N)
python3 - "$N" "$START" "$END" "$(cat rss.txt)" "$(cat summary.txt)" <<'PY'
import sys
n, start, end, rss_kb, summary = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
secs = end - start
print(f"messages: {n}")
print(f"summary:  {summary}")
print(f"elapsed:  {secs:.2f} s  ({n / secs:.0f} messages/s including acknowledgment delivery)")
print(f"peak RSS: {rss_kb / 1024:.1f} MiB")
PY
echo "timing:   $(grep -o 'intake_secs=[0-9.]*.*delivery_secs=[0-9.]*' log.txt || true)"
