#!/usr/bin/env bash
# The bare-metal release archive, in one command:  scripts/package.sh [--bin PATH] [--out DIR]
#   dist/ferrometa-<version>-linux-<arch>.tar.gz  holding  ferrometa-<version>/{bin/ferrometa,
#   conf/openmetadata.yaml (the guide's Cognito block), conf/ferrometa.service (hardened unit)}
# It runs from its own layout: cd ferrometa-<version> && bin/ferrometa --config conf/openmetadata.yaml serve
# Without --bin, builds the release binary (cargo build --release -p ferrometa). Prints the archive's path.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="" OUT="$ROOT/dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$(realpath -- "$2"); shift 2 ;;
        --out) OUT=$(realpath -m -- "$2"); shift 2 ;;
        *) echo "usage: $0 [--bin PATH] [--out DIR]" >&2; exit 2 ;;
    esac
done
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build --release -p ferrometa >&2)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrometa"
fi
VERSION=$("$BIN" --version | awk '{print $2}')
NAME="ferrometa-$VERSION"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
install -d "$STAGE/$NAME/bin" "$STAGE/$NAME/conf"
install -m 0755 "$BIN" "$STAGE/$NAME/bin/ferrometa"
install -m 0644 "$ROOT/deploy/bare-metal/openmetadata.yaml" "$ROOT/deploy/bare-metal/ferrometa.service" "$STAGE/$NAME/conf/"
mkdir -p "$OUT"
ARCHIVE="$OUT/$NAME-linux-$(uname -m).tar.gz"
tar -C "$STAGE" --owner=0 --group=0 --numeric-owner -czf "$ARCHIVE" "$NAME"
echo "$ARCHIVE"
