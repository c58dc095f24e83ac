#!/usr/bin/env bash
# The npm package rtm-sdk as its users get it: `npm pack`ed, installed from the tarball into
# tests/e2e; its API in headless Chromium with no bundler (sdk.test.mjs); built by Vite 5, Vite 8,
# webpack 5, esbuild and Rollup and loaded with no bundler, each page in headless Chromium; imported in
# Node 20 (no WebSocket; the ws package; Node's own behind --experimental-websocket), and in Deno and
# Bun (their npm-packaged binaries, with their own WebSocket; runtimes.test.mjs); and its React
# bindings rtm-sdk/react in a Vite + React 18 app under StrictMode in headless Chromium, in server
# rendering, and under tsc --strict. All against real servers on free 127.0.0.1 ports: an
# rtm-test-server (rtm-server's defaults but snapshot pages of 3, plus the event `test:silent` that is never answered, for
# request timeouts), and an rtm-server with a 400 ms presence TTL. Cargo builds in
# $CARGO_TARGET_DIR when it is set.
# RTM_SDK_TARBALL=path/to/rtm-sdk-X.Y.Z.tgz tests that tarball instead (no `make package`).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
servers=""
trap 'kill $servers 2>/dev/null || true; rm -rf "$tmp"' EXIT

if [ -n "${RTM_SDK_TARBALL:-}" ]; then
  tarball=$(realpath "$RTM_SDK_TARBALL")
else
  make -s package
  (cd sdk-wasm/pkg && npm pack --silent --pack-destination "$tmp" >/dev/null)
  tarball=$(echo "$tmp"/rtm-sdk-*.tgz)
fi
[ -f "$tarball" ] || { echo "no package tarball at $tarball"; exit 1; }
[ -d tests/e2e/node_modules/vite5 ] && [ -x tests/e2e/node_modules/@deno/linux-x64-glibc/deno ] &&
  [ -x tests/e2e/node_modules/@oven/bun-linux-x64/bin/bun ] || { echo "tests/e2e's npm packages are missing: run scripts/install-deps.sh"; exit 1; }
# npm installs it as a user would (its "files", its package.json), without touching package.json
# or package-lock.json; the next `npm ci` removes it again.
npm install --no-save --no-audit --no-fund --loglevel=error --prefix tests/e2e "$tarball" >/dev/null
echo "testing $(basename "$tarball")"

cargo build -q -p rtm-server -p rtm-tests --bin rtm-server --bin rtm-test-server
bin=${CARGO_TARGET_DIR:-target}/debug
port=$(python3 scripts/free-port.py)
# With a backend API key, so that the page can reach its user through the backend API.
# Snapshot pages of 3 entries and counts every 200 ms, so that the large-room scenario pages.
RTM_API_KEY=e2e-backend-key "$bin/rtm-test-server" --host 127.0.0.1 --port "$port" \
  --presence-snapshot-page 3 --presence-count-interval-ms 200 \
  >/tmp/rtm-package-test-server.log 2>&1 &
servers=$!
short_port=$(python3 scripts/free-port.py)
"$bin/rtm-server" --host 127.0.0.1 --port "$short_port" \
  --presence-ttl-ms 400 --presence-reaper-interval-ms 50 >/tmp/rtm-package-test-server-ttl.log 2>&1 &
servers="$servers $!"
for p in "$port" "$short_port"; do
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$p/health" >/dev/null && break
    sleep 0.1
  done
done

cd tests/e2e
RTM_SERVER_URL="http://127.0.0.1:$port" RTM_SHORT_TTL_URL="http://127.0.0.1:$short_port" \
  RTM_API_KEY=e2e-backend-key node --test sdk.test.mjs bundlers.test.mjs node.test.mjs runtimes.test.mjs react.test.mjs \
  react-node.test.mjs
