#!/usr/bin/env bash
# The one runner of the end-to-end suites in e2e/ (called by scripts/test.sh after the Rust
# tests). Creates e2e/.venv if missing, installs e2e/requirements.txt, builds the server
# (debug) unless FERROMETA_BIN points at a prebuilt binary, and runs pytest over e2e/.
# Extra arguments go to pytest (e.g. `e2e/run.sh -k cognito -x`).
# Exit status: pytest's; "no tests collected" (5) counts as a failure.
set -euo pipefail
E2E=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$E2E")
if [ -n "${FERROMETA_BIN:-}" ]; then
    FERROMETA_BIN=$(realpath -- "$FERROMETA_BIN")   # relative to the caller's directory
    export FERROMETA_BIN
fi
cd "$ROOT"

VENV="$E2E/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    python3 -m venv "$VENV"
fi
echo "==> installing e2e/requirements.txt"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$E2E/requirements.txt"

# Browser tests (test_browser.py): Debian's Chromium, driven by Playwright without any browser
# download, and the Node packages of the Cognito stand-in (pinned by its package-lock.json).
if ! command -v chromium >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "==> installing Debian packages: chromium, nodejs, npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium nodejs npm >/dev/null
fi
FAKE="$E2E/fake-cognito"
if [ ! -f "$FAKE/node_modules/.package-lock.json" ] || [ "$FAKE/package-lock.json" -nt "$FAKE/node_modules/.package-lock.json" ]; then
    echo "==> npm ci (e2e/fake-cognito)"
    (cd "$FAKE" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -n "${FERROMETA_BIN:-}" ]; then
    echo "==> using FERROMETA_BIN=$FERROMETA_BIN"
    [ -x "$FERROMETA_BIN" ] || { echo "FERROMETA_BIN is not an executable file: $FERROMETA_BIN" >&2; exit 1; }
else
    echo "==> cargo build -p ferrometa"
    cargo build -p ferrometa
    export FERROMETA_BIN="$ROOT/target/debug/ferrometa"
fi

echo "==> pytest e2e"
status=0
"$VENV/bin/python" -m pytest "$E2E" -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "e2e: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$status"
