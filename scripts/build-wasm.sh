#!/usr/bin/env bash
# Builds the npm package `rtm-sdk` into sdk-wasm/pkg: wasm-pack (size profile, ES module for the
# web), wasm-opt -Oz from npm's binaryen, an entry module that initialises the WebAssembly on
# import, and package.json named rtm-sdk. Prints the gzip size of what a page downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/node_modules/.bin:$PATH"
pkg=sdk-wasm/pkg

wasm-pack build sdk-wasm --target web --profile wasm-release --no-opt --out-dir pkg --out-name rtm_sdk >/dev/null
# Memory starts zeroed and nothing lives below 1 KiB (Rust's stack ends there), so wasm-opt may
# drop zero data and fold low offsets.
wasm-opt -Oz --converge --low-memory-unused --zero-filled-memory --strip-debug --strip-producers \
  --enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  "$pkg/rtm_sdk_bg.wasm" -o "$pkg/rtm_sdk_bg.wasm"

# The glue minified (exports and import names stay): a page downloads 4 KiB of JS, not 6.
esbuild "$pkg/rtm_sdk.js" --minify --format=esm --target=es2020 --log-level=warning \
  --outfile="$pkg/rtm_sdk.min.js"
mv "$pkg/rtm_sdk.min.js" "$pkg/rtm_sdk.js"

cat > "$pkg/index.js" <<'JS'
// Initialises the WebAssembly once, on import, so `new RealtimeClient(...)` works at once.
import init from "./rtm_sdk.js";
await init({ module_or_path: new URL("./rtm_sdk_bg.wasm", import.meta.url) });
export * from "./rtm_sdk.js";
JS
cat > "$pkg/index.d.ts" <<'TS'
export * from "./rtm_sdk.js";
TS

node - "$pkg/package.json" <<'JS'
const fs = require("fs");
const file = process.argv[2];
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
pkg.name = "rtm-sdk";
pkg.main = "index.js";
pkg.module = "index.js";
pkg.types = "index.d.ts";
pkg.exports = { ".": { types: "./index.d.ts", default: "./index.js" } };
pkg.files = ["index.js", "index.d.ts", "rtm_sdk.js", "rtm_sdk.d.ts", "rtm_sdk_bg.wasm", "README.md"];
pkg.sideEffects = ["./index.js"];
pkg.keywords = ["realtime", "presence", "socket.io", "websocket", "wasm"];
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
JS

# What a page downloads, gzip'd; the build fails above the budget (60 KiB unless
# RTM_WASM_BUDGET_BYTES says otherwise) so that size cannot creep up unnoticed.
wasm_gz=$(gzip -9c "$pkg/rtm_sdk_bg.wasm" | wc -c)
js_gz=$(cat "$pkg/rtm_sdk.js" "$pkg/index.js" | gzip -9c | wc -c)
total=$((wasm_gz + js_gz))
budget=${RTM_WASM_BUDGET_BYTES:-61440}
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
echo "rtm-sdk built in $pkg: wasm $(wc -c <"$pkg/rtm_sdk_bg.wasm") bytes ($(kib "$wasm_gz") gzip)," \
  "JS glue $(kib "$js_gz") gzip, total $(kib "$total") gzip (budget $(kib "$budget"))"
if [ "$total" -gt "$budget" ]; then
  echo "rtm-sdk is over its size budget" >&2
  exit 1
fi
