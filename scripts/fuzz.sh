#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ briefly (FUZZ_SECONDS each, default 20) from its seed
# corpus in fuzz/corpus/<target>. New inputs go to a scratch directory, never into the committed
# corpus. A crash stops the script; its input is in fuzz/artifacts/<target>/ and becomes a
# regression unit test. Stable Rust is enough: cargo-fuzz's nightly flags are enabled through
# RUSTC_BOOTSTRAP=1.
#   bash scripts/fuzz.sh                   # every target, 20 s each (what CI runs)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh token   # one target, 10 minutes
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-20}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(token config json_patch fqn condition)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
# Its own target directory: the instrumented build shares nothing with the workspace's.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${TARGETS[@]}"; do
    echo "== fuzzing $target for ${SECONDS_EACH}s"
    mkdir -p "$scratch/$target"
    cargo fuzz run --dev --sanitizer none "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "== fuzzing: no crash in ${TARGETS[*]}"
