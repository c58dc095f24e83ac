# The toolchain that builds the browser SDK's WebAssembly: a pinned nightly, because rebuilding
# std with the `immediate-abort` panic strategy (-Zbuild-std) is unstable. Everything else builds
# with the stable toolchain. Sourced by install-deps.sh and build-wasm.sh, with the wasm-pack
# that drives the build (installed from crates.io).
RTM_WASM_TOOLCHAIN=nightly-2026-10-30
RTM_WASM_PACK_VERSION=0.15.1
