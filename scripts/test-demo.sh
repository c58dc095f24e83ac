#!/usr/bin/env bash
# The demo, tested as a newcomer runs it: README's command (`make demo`, on a free port) starts
# it, then two headless Chromium browsers use the page (tests/e2e), and a screenshot is saved to
# a temporary file, or to RTM_DEMO_SCREENSHOT when it is set (`make screenshot`: docs/demo.png).
set -euo pipefail
cd "$(dirname "$0")/.."

make -s package
port=$(python3 scripts/free-port.py)
setsid env PORT="$port" make demo >/tmp/rtm-demo-test.log 2>&1 &
demo=$!
trap 'kill -- -"$demo" 2>/dev/null || true' EXIT

# The first run compiles the server in release mode: allow for it.
for _ in $(seq 1 1800); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  kill -0 "$demo" 2>/dev/null || { cat /tmp/rtm-demo-test.log; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/" | grep -q "rtm demo" || { echo "/ does not serve the demo page"; exit 1; }

cd tests/e2e
RTM_DEMO_URL="http://127.0.0.1:$port" node --test demo.test.mjs
