//! The rtm browser SDK (npm package `rtm-sdk`). Filled in by the sdk-wasm issue.
