#!/usr/bin/env bash
# Installs the real Control API server (iron_control_api 0.4.0) used by the interop tests, once:
# later runs find the binary and return at once. It builds for 8-14 minutes on 2 cores.
set -euo pipefail
ROOT="${IRON_CONTROL_API_ROOT:-/var/cache/iron-runtime-analytics/control-api}"
BINARY="$ROOT/bin/iron_control_api_server"
if [ -x "$BINARY" ]; then
  echo "control-api: $BINARY is present"
  exit 0
fi
mkdir -p "$ROOT"
cargo install iron_control_api --version 0.4.0 --locked --root "$ROOT"
test -x "$BINARY"
