// rtm-sdk for Node, Deno and Bun (the "node" export condition). Importing it only defines
// things: the WebAssembly is read from the package's own file on the first `connect()` (or by
// `init()`). The WebSocket is the global one (Node 22+, Node 20 with --experimental-websocket,
// Deno, Bun) or `options.WebSocket` (for example the ws package).
import { Client, loader } from "./sdk.js";

export { PresenceChannel } from "./sdk.js";

/** Loads the WebAssembly ahead of time, from `input` if given. */
export const init = loader(async () => {
  const { readFile } = await import("node:fs/promises");
  return readFile(new URL("./rtm_sdk_bg.wasm", import.meta.url));
});

/** A connection to an rtm server (see index.d.ts). */
export class RealtimeClient extends Client {
  constructor(options) {
    super(options, init);
  }
}
