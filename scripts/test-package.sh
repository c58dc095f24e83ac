#!/usr/bin/env bash
# The npm package rtm-sdk as its users get it: `npm pack`ed, installed from the tarball into
# tests/e2e, then built by Vite 5, Vite 7, webpack 5 and esbuild and loaded with no bundler, each
# page in headless Chromium, and imported in Node 20 (no WebSocket; the ws package; Node's own
# behind --experimental-websocket), all against a real rtm-server on a free 127.0.0.1 port.
# RTM_SDK_TARBALL=path/to/rtm-sdk-X.Y.Z.tgz tests that tarball instead (no `make package`).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$tmp"' EXIT

if [ -n "${RTM_SDK_TARBALL:-}" ]; then
  tarball=$(realpath "$RTM_SDK_TARBALL")
else
  make -s package
  (cd sdk-wasm/pkg && npm pack --silent --pack-destination "$tmp" >/dev/null)
  tarball=$(echo "$tmp"/rtm-sdk-*.tgz)
fi
[ -f "$tarball" ] || { echo "no package tarball at $tarball"; exit 1; }
[ -d tests/e2e/node_modules/vite5 ] || { echo "tests/e2e's npm packages are missing: run scripts/install-deps.sh"; exit 1; }
# npm installs it as a user would (its "files", its package.json), without touching package.json
# or package-lock.json; the next `npm ci` removes it again.
npm install --no-save --no-audit --no-fund --loglevel=error --prefix tests/e2e "$tarball" >/dev/null
echo "testing $(basename "$tarball")"

cargo build -q -p rtm-server
port=$(python3 scripts/free-port.py)
target/debug/rtm-server --host 127.0.0.1 --port "$port" >/tmp/rtm-package-test-server.log 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done

cd tests/e2e
RTM_SERVER_URL="http://127.0.0.1:$port" node --test bundlers.test.mjs node.test.mjs
