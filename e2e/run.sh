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

# The official OpenMetadata client, in its own venv (it pins its own pydantic, SQLAlchemy, ...).
# Installed once; re-installed only when the pinned versions are not the installed ones. The
# constraint keeps dbt-core below 1.12 (whose build reaches outside PyPI); jaraco.context<6 is
# what setuptools 70's pkg_resources can find (SQLAlchemy connectors need it).
OM_VENV="$E2E/.venv-om"
OM_VERSION="1.6.13.2"
om_ready() {
    "$OM_VENV/bin/python" - "$OM_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.version import Version
sys.exit(0 if version("openmetadata-ingestion") == sys.argv[1] and Version(version("jaraco.context")) < Version("6") else 1)
PY
}
if ! om_ready; then
    echo "==> installing openmetadata-ingestion==$OM_VERSION into $OM_VENV"
    [ -x "$OM_VENV/bin/python" ] || python3 -m venv "$OM_VENV"
    "$OM_VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$E2E/om-constraints.txt" "openmetadata-ingestion==$OM_VERSION"
    "$OM_VENV/bin/python" -m pip install -q --disable-pip-version-check 'jaraco.context<6'
    om_ready || { echo "openmetadata-ingestion $OM_VERSION is not usable in $OM_VENV" >&2; exit 1; }
fi

# The newest client, 2.0.7.0, in a venv of its own: it needs the opposite pins (a recent
# setuptools and jaraco.context>=6.1, see om2-constraints.txt).
OM2_VENV="$E2E/.venv-om2"
OM2_VERSION="2.0.7.0"
om2_ready() {
    "$OM2_VENV/bin/python" - "$OM2_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("openmetadata-ingestion") == sys.argv[1] else 1)
PY
}
if ! om2_ready; then
    echo "==> installing openmetadata-ingestion==$OM2_VERSION into $OM2_VENV"
    [ -x "$OM2_VENV/bin/python" ] || python3 -m venv "$OM2_VENV"
    "$OM2_VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$E2E/om2-constraints.txt" 'setuptools>=75' 'jaraco.context>=6.1' "openmetadata-ingestion==$OM2_VERSION"
    om2_ready || { echo "openmetadata-ingestion $OM2_VERSION is not usable in $OM2_VENV" >&2; exit 1; }
fi

# Browser tests (test_browser.py): Debian's Chromium, driven by Playwright without any browser
# download, and the Node packages of the Cognito stand-in (pinned by its package-lock.json).
# Each only when missing: the machine's Node.js may come from another repository whose nodejs
# package already carries npm (asking apt for Debian's npm next to it would fail).
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null 2>&1; then
    echo "==> installing Debian package: chromium"
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "==> installing Debian packages: nodejs, npm"
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi
# The multi-replica suite (test_replicas.py): Debian's nginx as the round-robin load balancer.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "==> installing Debian package: nginx"
    apt-get update -qq
    apt-get install -y -qq nginx >/dev/null
fi
export PATH="$PATH:/usr/sbin"
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
    export FERROMETA_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ferrometa"
fi

echo "==> pytest e2e"
status=0
"$VENV/bin/python" -m pytest "$E2E" -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "e2e: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$status"
