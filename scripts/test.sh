#!/usr/bin/env bash
# Runs every test: the workspace (unit, integration, examples, doc tests), then the browser SDK in
# headless Chromium. Closes with one
# summary line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The browser SDK in headless Chromium against the real server.
scripts/test-wasm.sh 2>&1 | tee -a "$log"
wasm_status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] && status=$wasm_status

passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the build failed, or a test binary crashed before reporting
fi
echo "tests: $passed passed, $failed failed"
exit "$status"
