#!/usr/bin/env bash
# Runs every test: the workspace (unit, integration, examples, doc tests), the patched
# dependencies' own (vendor/), then the npm package from its tarball (its API in headless
# Chromium, each bundler, Node), then the demo page in two Chromium browsers. Closes with one
# summary line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The patched dependencies' own tests, on the copies the server uses (vendor/*/PATCHES.md).
vendor_test() {
  CARGO_TARGET_DIR=target/vendor cargo test --manifest-path "vendor/$1/Cargo.toml" "${@:2}" 2>&1 |
    tee -a "$log"
  local vendor_status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] && status=$vendor_status
}
vendor_test engineioxide --features v3,tracing,__test_harness
vendor_test tungstenite --lib
# The npm package from its tarball: its API in headless Chromium; built by Vite 5 and 7,
# webpack, esbuild, and with no bundler, in headless Chromium; and in Node 20.
scripts/test-package.sh 2>&1 | tee -a "$log"
package_status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] && status=$package_status
# The demo page, started with README's command, in two headless Chromium browsers.
scripts/test-demo.sh 2>&1 | tee -a "$log"
demo_status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] && status=$demo_status

passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
# node's test runner (the package and demo tests) reports "# pass N" and "# fail N".
passed=$(( passed + $(grep -E '^# pass [0-9]+$' "$log" | awk '{s+=$3} END {print s+0}') ))
failed=$(( failed + $(grep -E '^# fail [0-9]+$' "$log" | awk '{s+=$3} END {print s+0}') ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the build failed, or a test binary crashed before reporting
fi
echo "tests: $passed passed, $failed failed"
exit "$status"
