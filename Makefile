# The two commands that matter: `make demo` runs the server with the demo page on the in-memory
# store; `make test` runs every test. Each installs what it needs first.

PORT ?= 3000
WASM_SOURCES := $(shell find protocol/src protocol/json/src sdk-core/src sdk-wasm/src sdk-wasm/js -type f) \
  protocol/Cargo.toml protocol/json/Cargo.toml sdk-core/Cargo.toml sdk-wasm/Cargo.toml \
  sdk-wasm/README.md LICENSE scripts/wasm-toolchain.sh

.PHONY: demo test lint deps package screenshot

## The server with the demo page at http://localhost:$(PORT), in-memory store (no Redis needed).
demo: demo/rtm-sdk/index.js
	PORT=$(PORT) cargo run --release -p rtm-server -- --static-dir demo

## The npm package rtm-sdk (sdk-wasm/pkg, by wasm-pack: scripts/build-wasm.sh), and the demo's copy of it.
package: demo/rtm-sdk/index.js

demo/rtm-sdk/index.js: $(WASM_SOURCES) scripts/build-wasm.sh
	scripts/install-deps.sh build
	scripts/build-wasm.sh
	rm -rf demo/rtm-sdk && cp -r sdk-wasm/pkg demo/rtm-sdk

## Every test: unit, conformance on memory and Redis, multi-node, native SDK, browser SDK, demo.
test: deps
	scripts/test.sh

## README's screenshot (docs/demo.png), taken by the demo test; the tests themselves write only
## to temporary or ignored paths.
screenshot: deps
	RTM_DEMO_SCREENSHOT=$(CURDIR)/docs/demo.png scripts/test-demo.sh

## Formatting and lints, as CI checks them.
lint:
	rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p rtm-sdk-wasm --target wasm32-unknown-unknown -- -D warnings

## What the tests need on this machine (idempotent; fast when all is there).
deps:
	scripts/install-deps.sh
