// The package's internals behind its entries (index.js, node.js). The build bundles this module
// and everything it imports, the wasm-bindgen glue included, into the package's one `sdk.js`.
export { PresenceChannel } from "./channel.js";
export { Client } from "./client.js";
export { loader } from "./load.js";
