# The toolchain that builds the browser SDK's WebAssembly: a pinned nightly, because rebuilding
# std with the `immediate-abort` panic strategy (-Zbuild-std) is unstable. Everything else builds
# with the stable toolchain. Sourced by install-deps.sh and build-wasm.sh.
RTM_WASM_TOOLCHAIN=nightly-2026-10-30
