#!/usr/bin/env bash
# The README's performance table from one run (a measurement, not a test: nothing here asserts
# on time): bench/imap_bench.sh (intake over IMAP into SQLite and PostgreSQL against the raw
# fetch, delivery against smtp-source, peak RSS draining 10,000, latency with IDLE, polling
# and LMTP), then bench/scale.sh at 100,000 and at 1,000,000 messages, one after the other on
# the same build; prints the table in Markdown and keeps each benchmark's own output.
#
#   bash bench/table.sh [OUT]        OUT defaults to a new /tmp/hdtable.XXXXXX
#   SCALES="100000" bash bench/table.sh      (other sizes; the default is "100000 1000000")
#   PG=postgres://postgres@127.0.0.1:5432 is passed on to imap_bench.sh when set (the default
#   is that address when psql reaches it).
#   REPORT_ONLY=1 bash bench/table.sh OUT   prints the tables of an earlier run kept in OUT.
# Needs what imap_bench.sh and scale.sh need (root for Postfix, sqlite3, GNU time). About half
# an hour on the 2-core development machine, most of it importing the million.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-$(mktemp -d /tmp/hdtable.XXXXXX)}"
mkdir -p "$OUT"
SCALES="${SCALES:-100000 1000000}"
if [ -z "${PG:-}" ] && psql postgres://postgres@127.0.0.1:5432/postgres -qAtc "SELECT 1" >/dev/null 2>&1; then
    PG=postgres://postgres@127.0.0.1:5432
fi

if [ -z "${REPORT_ONLY:-}" ]; then
    cargo build --release --quiet --bin helpdesk --example imap_fetch
    COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations Cargo.lock || echo "+changes")
    date -u +"%Y-%m-%d %H:%M UTC" > "$OUT/when"
    echo "bench/table.sh: commit $COMMIT, output in $OUT" >&2
fi

if [ -z "${REPORT_ONLY:-}" ]; then
    PG="${PG:-}" bash bench/imap_bench.sh > "$OUT/imap.txt" 2>&1
    for n in $SCALES; do
        BIN="$PWD/target/release/helpdesk" bash bench/scale.sh "$n" > "$OUT/scale-$n.txt" 2>&1
    done
    echo "$COMMIT" > "$OUT/commit"
fi
COMMIT=$(cat "$OUT/commit")

python3 - "$OUT" "$COMMIT" "$SCALES" <<'PY'
import os, re, sys
out, commit, scales = sys.argv[1], sys.argv[2], sys.argv[3].split()
imap = open(os.path.join(out, "imap.txt")).read()
when = open(os.path.join(out, "when")).read().strip()

def find(pattern, text=imap, default="—"):
    m = re.search(pattern, text)
    return m.groups() if m else None

def fmt(x):
    return f"{float(x):,.0f}"

rows = []
cold = find(r"raw IMAP fetch, cold: .*= (\d+) msg/s")
warm = find(r"raw IMAP fetch, warm: .*= (\d+) msg/s")
if cold and warm:
    rows.append(("raw IMAP fetch, 5,000 messages", "(baseline)", f"{fmt(warm[0])} msg/s warm, {fmt(cold[0])} cold"))
intake = find(r"helpdesk intake: (\d+) messages in ([\d.]+) s = (\d+) msg/s \(([\d.]+)% of")
if intake:
    rows.append(("intake over IMAP into SQLite", "≥ 10,000 msg/s",
                 f"**{fmt(intake[2])} msg/s**, {intake[3]}% of the warm raw fetch"))
pg = find(r"helpdesk on PostgreSQL: intake (\d+) messages in ([\d.]+) s = (\d+) msg/s; delivery (\d+) in ([\d.]+) s = (\d+) mail/s")
if pg:
    rows.append(("intake over IMAP into PostgreSQL", "reported", f"{fmt(pg[2])} msg/s"))
delivery = find(r"helpdesk delivery: (\d+) acknowledgments through Postfix in ([\d.]+) s = (\d+) mail/s")
s4 = find(r"smtp-source \(4 sessions, connections kept\): .* = (\d+) mail/s")
s4new = find(r"smtp-source \(4 sessions, a connection per mail\): .* = (\d+) mail/s")
s1 = find(r"smtp-source \(1 sessions, connections kept\): .* = (\d+) mail/s")
if delivery and s4:
    ratio = 100 * float(delivery[2]) / float(s4[0])
    rows.append(("delivery through Postfix, 4 connections", "≥ 90% of `smtp-source`",
                 f"**{fmt(delivery[2])} mail/s = {ratio:.0f}%** of `smtp-source -d -s 4` ({fmt(s4[0])} mail/s; "
                 f"{fmt(s1[0]) if s1 else '—'} with one session; {fmt(s4new[0]) if s4new else '—'} with a connection per mail)"))
rss = find(r"drained (\d+) messages in ([\d.]+) s, delivered (\d+) in ([\d.]+) s; peak RSS (\d+) MiB")
if rss:
    rate = float(rss[0]) / float(rss[1])
    rows.append((f"peak RSS draining {int(rss[0]):,} messages", "", f"{rss[4]} MiB (intake {rate:,.0f} msg/s)"))
for name, label, target in (("idle", "APPEND → acknowledgment, IMAP IDLE", ""),
                            ("poll", "APPEND → acknowledgment, polling every 100 ms", ""),
                            ("lmtp", "SMTP submission → acknowledgment, LMTP", "p50 ≤ 100 ms, p99 ≤ 250 ms")):
    lat = find(r"\(" + name + r", \d+ samples\): p50 (\d+) ms, p99 (\d+) ms")
    if lat:
        rows.append((label, target, f"p50 {lat[0]} ms, p99 {lat[1]} ms"))

print(f"One run of `bash bench/table.sh` on {when} (commit `{commit}`):\n")
print("| measure | target | result |")
print("| --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")

# The scale table: one column per size.
cols = []
for n in scales:
    text = open(os.path.join(out, f"scale-{n}.txt")).read()
    col = {}
    m = re.search(r"intake \(import mbox, messages/s\): empty database (\d+), bulk (\d+), at \d+: (\d+) \((\d+)% of empty\)", text)
    if m:
        col["intake (`import mbox`), empty database → at N"] = f"{fmt(m[1])} → {fmt(m[3])} msg/s ({m[4]}%)"
    cases = re.search(r"views at (\d+) cases", text)
    col["cases"] = f"{int(cases[1]):,}" if cases else "?"
    for line in text.splitlines():
        v = re.match(r"  (.+?)\s+([\d.]+) s\s+([\d.]+) MiB", line)
        if v:
            # The same view at every size: the arguments that name a case or an offset differ.
            label = re.sub(r"--offset \d+", "--offset N/2 (the middle)", v[1].strip())
            label = re.sub(r"--requester \S+", "--requester …", label)
            label = re.sub(r"cases show \S+", "cases show (the middle case)", label)
            label = re.sub(r"--since \S+", "--since (before every case)", label)
            label = label.replace(" (to /dev/null)", "")
            col[f"`{label}`"] = f"{v[2]} s, {v[3]} MiB"
    m = re.search(r"scheduler round \(run --once, nothing due\): ([\d.]+) s, then ([\d.]+) s", text)
    if m:
        col["scheduler round, nothing due (first, second)"] = f"{float(m[1]):.2f} s, {float(m[2]):.2f} s"
    m = re.search(r"= (\d+) bytes per case, ([\d.]+)x the raw (\d+) bytes", text)
    if m:
        col["database per case"] = f"{int(m[1]):,} bytes for {int(m[3]):,} ({m[2]}×)"
    cols.append((n, col))
keys = []
for _, col in cols:
    for k in col:
        if k != "cases" and k not in keys:
            keys.append(k)
print()
def target(k):
    if k.startswith("`") and "--all" in k:
        return "≤ 64 MB"
    if k.startswith("`"):
        return "≤ 1 s, ≤ 64 MB"
    if k.startswith("scheduler"):
        return "proportional to due work"
    if k.startswith("database"):
        return "≤ 1.5× raw"
    return ""
print("| measure | target | " + " | ".join(f"at {int(n):,} messages ({c['cases']} cases)" for n, c in cols) + " |")
print("| --- | --- |" + " --- |" * len(cols))
for k in keys:
    print(f"| {k} | {target(k)} | " + " | ".join(c.get(k, "—") for _, c in cols) + " |")
PY
