#!/usr/bin/env bash
# Runs ferrometa's benchmarks by hand and writes bench/results/{startup,tokens,auth,auth-instructions,browser,ingest,ingest-client,scale,lineage}.md.
# Each result is a ratio against a baseline measured in the same run (see bench/README.md).
#
#   bench/run.sh                 # startup, tokens, auth and browser
#   bench/run.sh tokens auth     # a subset
#   bench/run.sh ingest          # catalog ingest and reads (PostgreSQL too with FERROMETA_BENCH_POSTGRES_URL)
#   bench/run.sh ingest-client   # `metadata ingest` (the official client) of 2 000 tables x 20 columns
#   bench/run.sh auth-instructions   # instructions per policy-judged read (callgrind; any load)
#   bench/run.sh scale           # lookups and list pages at 10 000 and 1 000 000 tables (PostgreSQL too, as above)
#   bench/run.sh lineage         # lineage reads at depth 3 on graphs of 10 000 and 1 000 000 edges
#
# Needs: cargo, openssl, taskset, and wrk (installed with apt-get when missing; needs root).
# `browser` also needs what e2e/run.sh installs (e2e/.venv with Playwright, Debian's Chromium,
# node and e2e/fake-cognito/node_modules), `ingest-client` e2e/.venv and e2e/.venv-om (the
# OpenMetadata client): run e2e/run.sh once if they are missing.
# Takes about 4 minutes after the release build. Do not run other heavy work at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(startup tokens auth browser)

# The browser benchmark reuses the e2e set-up; check it before the (long) build.
for b in "${benches[@]}"; do
    [ "$b" = browser ] || continue
    missing=()
    [ -x e2e/.venv/bin/python ] || missing+=(e2e/.venv)
    [ -d e2e/fake-cognito/node_modules ] || missing+=(e2e/fake-cognito/node_modules)
    [ -x /usr/bin/chromium ] || missing+=(/usr/bin/chromium)
    command -v node >/dev/null || missing+=(node)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "bench browser needs the e2e set-up (missing: ${missing[*]}): run e2e/run.sh once" >&2
        echo "(e.g. \`FERROMETA_BIN=target/release/ferrometa e2e/run.sh -k browser\`), then bench/run.sh browser" >&2
        exit 1
    fi
done
for b in "${benches[@]}"; do
    [ "$b" = ingest-client ] || continue
    for venv in e2e/.venv/bin/python e2e/.venv-om/bin/metadata; do
        [ -x "$venv" ] && continue
        echo "bench ingest-client needs $venv: run e2e/run.sh once (e.g. \`e2e/run.sh -k ingestion\`), then bench/run.sh ingest-client" >&2
        exit 1
    done
done

if [ "$(nproc)" -lt 2 ]; then
    echo "the benchmarks pin the server and the load generator to CPUs 0 and 1; this machine has $(nproc) CPU" >&2
    exit 1
fi

log "building: cargo build --release -p ferrometa -p ferrometa-bench"
cargo build --release -p ferrometa -p ferrometa-bench

if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
for tool in openssl taskset wrk; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

# Measurements on a busy machine are noise: wait (bounded) for the 1-minute load average to drop.
max_load=${BENCH_MAX_LOAD:-1.0}
quiet_wait=${BENCH_QUIET_WAIT:-600}
wait_for_quiet() {
    local waited=0 load
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l < m) }' && return 0
        if [ "$waited" -ge "$quiet_wait" ]; then
            echo "warning: load average still $load after ${quiet_wait}s; measuring anyway (recorded in the results)" >&2
            return 0
        fi
        [ "$waited" -eq 0 ] && echo "waiting for the 1-minute load average ($load) to fall below $max_load (at most ${quiet_wait}s)" >&2
        sleep 10
        waited=$((waited + 10))
    done
}

mkdir -p bench/results
bin=target/release
for b in "${benches[@]}"; do
    case "$b" in
        startup)
            cmd="$bin/startup --binary $bin/ferrometa --out bench/results/startup.md" ;;
        tokens)
            cmd="taskset -c 1 $bin/tokens --out bench/results/tokens.md" ;;
        auth)
            # Pins itself after minting: server on CPU 0, wrk and in-process figures on CPU 1.
            cmd="$bin/auth --binary $bin/ferrometa --out bench/results/auth.md" ;;
        auth-instructions)
            # Counted by callgrind, not timed: needs valgrind and e2e/.venv, not a quiet machine.
            cmd="e2e/.venv/bin/python bench/auth_instructions.py --binary $bin/ferrometa --out bench/results/auth-instructions.md" ;;
        browser)
            # Headless Chromium + the Cognito stand-in + one server; not pinned (see the result file).
            cmd="e2e/.venv/bin/python bench/browser.py --binary $bin/ferrometa --out bench/results/browser.md" ;;
        ingest)
            # Pins itself: server on CPU 0, the load on CPU 1.
            cmd="$bin/ingest --binary $bin/ferrometa --out bench/results/ingest.md" ;;
        ingest-client)
            # The official client pinned to CPU 1, each server to CPU 0 (minutes: see the result file).
            cmd="e2e/.venv/bin/python bench/ingest_client.py --binary $bin/ferrometa --out bench/results/ingest-client.md" ;;
        scale)
            # Loads in-process on both CPUs (server stopped), then server on CPU 0, reads on CPU 1.
            # 1 000 000 tables: tens of minutes of loading and ~GBs under /dev/shm (see bench/README.md).
            cmd="$bin/scale --binary $bin/ferrometa --out bench/results/scale.md" ;;
        lineage)
            # Loads 10 000 and 1 000 000 lineage edges in-process (minutes), then reads as scale does.
            cmd="$bin/lineage --binary $bin/ferrometa --out bench/results/lineage.md" ;;
        *)
            echo "unknown benchmark $b (startup, tokens, auth, auth-instructions, browser, ingest, ingest-client, scale, lineage)" >&2; exit 2 ;;
    esac
    [ "$b" = auth-instructions ] || wait_for_quiet
    log "$b: $cmd"
    BENCH_INVOCATION="$cmd" $cmd
done

log "results:"
for b in "${benches[@]}"; do echo "  bench/results/$b.md"; done
