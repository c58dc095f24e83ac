#!/usr/bin/env bash
# Installs what the tests and the browser SDK build need, only what is missing, so a second run
# is fast: redis-server, Chromium and its driver (Debian), the wasm32 target (for clippy), the
# pinned nightly toolchain with rust-src that builds the WebAssembly (scripts/wasm-toolchain.sh),
# wasm-pack and wasm-bindgen-cli (at the exact version of Cargo.lock) from crates.io, wasm-opt
# from npm's binaryen (Debian's is broken), esbuild, and the browser and package tests' npm
# packages (tests/e2e: Playwright, Vite, webpack, ws, and the Deno and Bun binaries).
# `install-deps.sh build` installs only what building the npm package needs (for `make demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
only_build=""
[ "${1:-}" = "build" ] && only_build=1

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ -z "$only_build" ]; then
  command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server"; apt_install redis-server; }
  command -v chromium >/dev/null 2>&1 || { echo "installing chromium"; apt_install chromium; }
  command -v chromedriver >/dev/null 2>&1 || { echo "installing chromium-driver"; apt_install chromium-driver; }
  # Reinstalled whenever package-lock.json changed since the last install (its sha256 is kept
  # in node_modules), so a second run with the same lock does nothing.
  lock_sum=$(sha256sum tests/e2e/package-lock.json | cut -d' ' -f1)
  lock_stamp=tests/e2e/node_modules/.package-lock.sha256
  if [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_sum" ]; then
    echo "installing the browser tests' npm packages"
    npm ci --silent --no-audit --no-fund --prefix tests/e2e >/dev/null
    echo "$lock_sum" >"$lock_stamp"
  fi
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# shellcheck source=scripts/wasm-toolchain.sh
. scripts/wasm-toolchain.sh
# rustup takes its global flags (such as -q) before the subcommand only: `rustup toolchain
# install -q` fails on rustup 1.29.
if ! rustup run "$RTM_WASM_TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
  ! rustup component list --installed --toolchain "$RTM_WASM_TOOLCHAIN" | grep -q '^rust-src' ||
  ! rustup target list --installed --toolchain "$RTM_WASM_TOOLCHAIN" | grep -qx wasm32-unknown-unknown; then
  echo "installing the $RTM_WASM_TOOLCHAIN toolchain (builds the WebAssembly)"
  rustup -q toolchain install "$RTM_WASM_TOOLCHAIN" --profile minimal --component rust-src \
    --target wasm32-unknown-unknown
fi

# Cargo-installed tools at the versions the build expects; cargo builds them from crates.io (npm's
# wasm-pack downloads a binary at install time, which cannot work here). wasm-bindgen-cli must
# match the wasm-bindgen crate exactly: wasm-pack uses the one on PATH only then.
cargo_tool() { # cargo_tool BINARY CRATE VERSION [cargo install flags]
  local have
  have=$("$HOME/.cargo/bin/$1" --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$3" ]; then
    echo "installing $2 $3"
    cargo install -q "$2" --version "$3" "${@:4}"
  fi
}
cargo_tool wasm-bindgen wasm-bindgen-cli \
  "$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
cargo_tool wasm-pack wasm-pack "$RTM_WASM_PACK_VERSION" --locked

# wasm-opt (binaryen 132) and esbuild (minifies the JS glue) from npm; scripts put
# tools/node_modules/.bin first on PATH.
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -x tools/node_modules/.bin/esbuild ]; then
  echo "installing binaryen (wasm-opt) and esbuild from npm"
  npm install --silent --no-audit --no-fund --prefix tools binaryen@132 esbuild@0.25.12 >/dev/null
fi

if [ -z "$only_build" ]; then
  echo "dependencies ready: $(redis-server --version | cut -d' ' -f1-3), $(chromium --version 2>/dev/null | head -1), wasm-pack $RTM_WASM_PACK_VERSION, $RTM_WASM_TOOLCHAIN"
else
  echo "build dependencies ready: wasm-pack $RTM_WASM_PACK_VERSION, $RTM_WASM_TOOLCHAIN"
fi
