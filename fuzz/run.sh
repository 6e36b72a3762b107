#!/usr/bin/env bash
# Runs one fuzz target with the project's libFuzzer settings (fuzz/README.md):
#   fuzz/run.sh TARGET SECONDS [more libFuzzer flags, e.g. -runs=10000000]
# An input slower than 1 s (-timeout=1) or over 2 GB of memory counts as a failure, like a
# panic; the input is saved under fuzz/artifacts/TARGET/ and the exit status is non-zero.
# Builds without a sanitizer (the crate forbids unsafe code; what we look for are panics,
# overflows, slow inputs and memory blow-ups) and with debug assertions (overflow checks).
set -euo pipefail
cd "$(dirname "$0")"
target="$1"
seconds="$2"
shift 2
case "$target" in
    parse_message | mbox_split) max_len=65536 ;;
    rules_loader | quote_strip) max_len=16384 ;;
    commands) max_len=8192 ;;
    authres) max_len=4096 ;;
    *) echo "unknown fuzz target: $target" >&2; exit 2 ;;
esac
mkdir -p "corpus/$target"
# cargo-fuzz wants nightly features; RUSTC_BOOTSTRAP lets a stable toolchain build them.
RUSTC_BOOTSTRAP=1 exec cargo fuzz run --fuzz-dir . -s none -a "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 "$@"
