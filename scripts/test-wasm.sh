#!/usr/bin/env bash
# The browser SDK's tests: wasm-bindgen-test in headless Chromium against two real rtm-servers
# (defaults, and a 400 ms presence TTL) on free 127.0.0.1 ports, stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/node_modules/.bin:$PATH"

cargo build -q -p rtm-server
port=$(python3 scripts/free-port.py)
short_port=$(python3 scripts/free-port.py)
target/debug/rtm-server --host 127.0.0.1 --port "$port" >/tmp/rtm-wasm-test-server.log 2>&1 &
pids=$!
target/debug/rtm-server --host 127.0.0.1 --port "$short_port" \
  --presence-ttl-ms 400 --presence-reaper-interval-ms 50 >/tmp/rtm-wasm-test-server-ttl.log 2>&1 &
pids="$pids $!"
trap 'kill $pids 2>/dev/null || true' EXIT

for p in "$port" "$short_port"; do
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$p/health" >/dev/null && break
    sleep 0.1
  done
done

RTM_TEST_URL="http://127.0.0.1:$port" RTM_TEST_SHORT_TTL_URL="http://127.0.0.1:$short_port" \
  wasm-pack test --headless --chrome sdk-wasm
