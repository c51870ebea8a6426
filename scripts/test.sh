#!/usr/bin/env bash
# Installs every test dependency on a fresh Debian machine (run as root), starts PostgreSQL,
# and runs the whole test suite: Rust unit and integration tests (SQLite and PostgreSQL), then
# the end-to-end suite with external clients (e2e/). Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PG_CLUSTER=ferrometa_test

log() { printf '\n==> %s\n' "$*"; }

install_system_packages() {
    log "installing Debian packages (PostgreSQL, Python venv)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql python3-venv nginx curl >/dev/null
}

start_postgres() {
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    pg_dropcluster --stop "$version" "$PG_CLUSTER" 2>/dev/null || true
    # A port no other cluster on this machine is configured for.
    PG_PORT=${FERROMETA_TEST_PG_PORT:-55433}
    while pg_lsclusters -h | awk '{print $3}' | grep -qx "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
    log "starting PostgreSQL $version cluster $PG_CLUSTER on port $PG_PORT"
    pg_createcluster "$version" "$PG_CLUSTER" -p "$PG_PORT" --start -- --auth=trust >/dev/null
    until pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; do sleep 0.2; done
    export FERROMETA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    trap 'pg_dropcluster --stop "'"$version"'" "$PG_CLUSTER" 2>/dev/null || true' EXIT
}

run_rust_tests() {
    log "Rust tests (unit + integration, SQLite and PostgreSQL)"
    export CARGO_TERM_COLOR=never
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace --no-fail-fast
    else
        cargo test --workspace --no-fail-fast
    fi
}

# The Rust tests just built the server binary (their CARGO_BIN_EXE_ferrometa): reuse it.
reuse_built_binary() {
    local built="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ferrometa"
    if [ -x "$built" ]; then
        export FERROMETA_BIN="$built"
    fi
}

run_fuzz_targets() {
    log "fuzz targets, briefly (scripts/fuzz.sh)"
    bash "$ROOT/scripts/fuzz.sh"
}

run_e2e_tests() {
    if [ -x "$ROOT/e2e/run.sh" ]; then
        log "end-to-end tests (e2e/)"
        "$ROOT/e2e/run.sh"
    fi
}

# Dockerfile, compose file, kustomize manifests and the bare-metal archive, validated offline.
run_deploy_checks() {
    log "deployment assets (scripts/check-deploy.sh)"
    "$ROOT/scripts/check-deploy.sh"
}

install_system_packages
start_postgres
run_rust_tests
reuse_built_binary
run_fuzz_targets
run_e2e_tests
run_deploy_checks
log "all tests passed"
