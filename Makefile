# The two commands that matter: `make demo` runs the server with the demo page on the in-memory
# store; `make test` runs every test. Each installs what it needs first.

PORT ?= 3000

.PHONY: demo test lint deps

## The server with the demo page at http://localhost:$(PORT), in-memory store (no Redis needed).
demo:
	PORT=$(PORT) cargo run --release -p rtm-server -- --static-dir demo

## Every test: unit, conformance on memory and Redis, multi-node, end-to-end.
test: deps
	scripts/test.sh

## Formatting and lints, as CI checks them.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## What the tests need on this machine (idempotent; fast when all is there).
deps:
	scripts/install-deps.sh
