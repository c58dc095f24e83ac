// rtm-sdk for browsers and bundlers. Importing it only defines things: the WebAssembly is
// fetched from beside this file on the first `connect()` (or by `init()`); bundlers see the
// `new URL(..., import.meta.url)` below and emit the file.
import { Client, loader } from "./sdk.js";

export { PresenceChannel } from "./sdk.js";

/** Loads the WebAssembly ahead of time, from `input` if given (CDNs, strict CSPs). */
export const init = loader(() => new URL("./rtm_sdk_bg.wasm", import.meta.url));

/** A connection to an rtm server (see index.d.ts). */
export class RealtimeClient extends Client {
  constructor(options) {
    super(options, init);
  }
}
