#!/usr/bin/env bash
# Builds the npm package `rtm-sdk` into sdk-wasm/pkg:
#  1. wasm-pack builds the WebAssembly (sdk-wasm: the Rust adapter over rtm-sdk-core's sans-IO
#     client) and its JS glue, with the size profile `wasm-release` and std rebuilt with the
#     `immediate-abort` panic strategy (no panic messages or formatting code: 7 KiB gzip less),
#     which needs the pinned nightly (scripts/wasm-toolchain.sh); wasm-pack uses the
#     wasm-bindgen CLI that scripts/install-deps.sh installed (the version of Cargo.lock);
#  2. wasm-opt -Oz from npm's binaryen (Debian's is broken);
#  3. the package's own JavaScript (sdk-wasm/js/sdk.js: the lazy loader and the facade) bundled
#     with the glue into one minified `sdk.js`, and the two entries `index.js` (browsers,
#     bundlers) and `node.js` (Node, Deno, Bun);
#  4. the React bindings `rtm-sdk/react` (sdk-wasm/js/react.js and react/): `react.js` on the
#     browser entry and `react-node.js` on the Node entry, React left external;
#  5. package.json, the types, README and LICENSE.
# Prints the gzip size of what a page downloads and fails above the budget (React apps also
# download react.js: its size is printed apart).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# shellcheck source=scripts/wasm-toolchain.sh
. scripts/wasm-toolchain.sh
pkg=sdk-wasm/pkg
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# wasm-pack's own wasm-opt step is off ([package.metadata.wasm-pack.profile.custom]): step 2
# runs it with flags wasm-pack cannot pass. Its own target dir keeps the nightly's build-std
# artefacts apart from the stable toolchain's.
RUSTUP_TOOLCHAIN="$RTM_WASM_TOOLCHAIN" RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none" \
  CARGO_TARGET_DIR="$PWD/target/wasm-std" WASM_PACK_CACHE="$stage/cache" \
  wasm-pack --quiet build sdk-wasm --mode no-install --target web --no-typescript --no-pack \
  --profile wasm-release --out-dir "$stage" --out-name rtm_sdk \
  -- -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size

rm -rf "$pkg" && mkdir -p "$pkg"
# Memory starts zeroed and nothing lives below 1 KiB (Rust's stack ends there), so wasm-opt may
# drop zero data and fold low offsets.
wasm-opt -Oz --converge --low-memory-unused --zero-filled-memory --strip-debug --strip-producers \
  --enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  "$stage/rtm_sdk_bg.wasm" -o "$pkg/rtm_sdk_bg.wasm"

# The glue's own default location of the .wasm is never used (the entries always say where it
# is): drop it, so that bundlers see one reference to the file, the entry's.
node - "$stage/rtm_sdk.js" <<'JS'
const fs = require("fs");
const file = process.argv[2];
const text = fs.readFileSync(file, "utf8");
const fallback = /\n\s*if \(module_or_path === undefined\) \{\n\s*module_or_path = new URL\('rtm_sdk_bg\.wasm', import\.meta\.url\);\n\s*\}/;
if (!fallback.test(text)) throw new Error("the glue's default .wasm URL was not found: check the wasm-bindgen output");
fs.writeFileSync(file, text.replace(fallback, ""));
JS

cp sdk-wasm/js/sdk.js sdk-wasm/js/index.js sdk-wasm/js/node.js "$stage/"
esbuild "$stage/sdk.js" --bundle --minify --format=esm --target=es2022 --log-level=warning --outfile="$pkg/sdk.js"
for entry in index.js node.js; do
  esbuild "$stage/$entry" --minify --format=esm --target=es2022 --log-level=warning --outfile="$pkg/$entry"
done
# rtm-sdk/react: one source, two files, each importing its own entry (never a copy of the SDK):
# react.js the browser one (index.js), react-node.js the Node one (node.js); React is external.
node - "$pkg" <<'JS'
const path = require("path");
const esbuild = require(path.resolve("tools/node_modules/esbuild"));
const pkg = process.argv[2];
const sdkEntry = path.resolve("sdk-wasm/js/index.js");
(async () => {
  for (const [out, entry] of [["react.js", "./index.js"], ["react-node.js", "./node.js"]]) {
    const outfile = path.join(pkg, out);
    const plugin = {
      name: "rtm-sdk-entry",
      setup(build) {
        build.onResolve({ filter: /index\.js$/ }, (args) =>
          path.resolve(args.resolveDir, args.path) === sdkEntry ? { path: entry, external: true } : undefined);
      },
    };
    const result = await esbuild.build({
      entryPoints: ["sdk-wasm/js/react.js"], bundle: true, minify: true, format: "esm", target: "es2022",
      external: ["react"], plugins: [plugin], outfile, metafile: true, logLevel: "warning",
    });
    const [{ imports: found }] = Object.values(result.metafile.outputs);
    const imports = [...new Set(found.map((i) => i.path))].sort();
    if (JSON.stringify(imports) !== JSON.stringify([entry, "react"])) {
      throw new Error(`${out} must import only react and ${entry}; it imports ${imports.join(", ")}`);
    }
  }
})();
JS
cp sdk-wasm/js/index.d.ts sdk-wasm/js/react.d.ts "$pkg/"
cp sdk-wasm/README.md LICENSE "$pkg/"

node - "$pkg/package.json" sdk-wasm/Cargo.toml Cargo.toml <<'JS'
const fs = require("fs");
const [file, crate, workspace] = process.argv.slice(2);
// The crate's version (the workspace's, unless the crate sets its own).
const versionOf = (toml) => toml.match(/^version\s*=\s*"([^"]+)"/m)?.[1];
const version = versionOf(fs.readFileSync(crate, "utf8")) ?? versionOf(fs.readFileSync(workspace, "utf8"));
const pkg = {
  name: "rtm-sdk",
  version,
  description:
    "Realtime rooms with presence (who is here, each connection's state), heartbeats, acks and reconnect, for rtm-server. WebAssembly core, typed, no side effects on import.",
  license: "MIT",
  repository: { type: "git", url: "git+https://github.com/rtm-rs/rtm.git", directory: "sdk-wasm" },
  keywords: ["realtime", "presence", "socket.io", "websocket", "wasm", "rooms", "multiplayer", "react"],
  type: "module",
  main: "./index.js",
  module: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": { types: "./index.d.ts", node: "./node.js", default: "./index.js" },
    "./react": { types: "./react.d.ts", node: "./react-node.js", default: "./react.js" },
    "./rtm_sdk_bg.wasm": "./rtm_sdk_bg.wasm",
    "./package.json": "./package.json",
  },
  files: ["index.js", "node.js", "sdk.js", "index.d.ts", "react.js", "react-node.js", "react.d.ts", "rtm_sdk_bg.wasm", "README.md", "LICENSE"],
  sideEffects: false,
  peerDependencies: { react: ">=18" },
  peerDependenciesMeta: { react: { optional: true } },
  engines: { node: ">=20" },
};
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
JS

# What a page downloads, gzip'd; the build fails above the budget (62 KiB unless
# RTM_WASM_BUDGET_BYTES says otherwise) so that size cannot creep up unnoticed. It was 56 KiB
# before room storage (issue 24), which took 5.3 KiB: the core's storage view, loads, changes
# and conflicts (2.7), `channel.storage`'s get, entries, set and delete with their shims and glue
# (1.5), and `update` with its retries (1.1).
wasm_gz=$(gzip -9c "$pkg/rtm_sdk_bg.wasm" | wc -c)
js_gz=$(cat "$pkg/sdk.js" "$pkg/index.js" | gzip -9c | wc -c)
total=$((wasm_gz + js_gz))
budget=${RTM_WASM_BUDGET_BYTES:-63488}
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
echo "rtm-sdk built in $pkg: wasm $(wc -c <"$pkg/rtm_sdk_bg.wasm") bytes ($(kib "$wasm_gz") gzip)," \
  "JS $(kib "$js_gz") gzip, total $(kib "$total") gzip (budget $(kib "$budget"));" \
  "rtm-sdk/react $(kib "$(gzip -9c "$pkg/react.js" | wc -c)") gzip more for React apps"
if [ "$total" -gt "$budget" ]; then
  echo "rtm-sdk is over its size budget" >&2
  exit 1
fi
