// The package's one module of its own (bundled with the wasm-bindgen glue into `sdk.js`): the JavaScript
// that cannot be Rust: loading the WebAssembly on first need, and a facade that makes
// `new RealtimeClient()` synchronous before it is loaded. Everything else (the protocol, the
// WebSocket, timers, promises, listeners, the page's lifecycle) is the WebAssembly's.
import initWasm, { RealtimeClient as Wasm } from "./rtm_sdk.js";

export { PresenceChannel } from "./rtm_sdk.js";

const rtmError = (code, message) => Object.assign(new Error(message), { code });

/**
 * The `init(input?)` of an entry: loads the WebAssembly from `input` (a URL, bytes, a `Response`,
 * a `WebAssembly.Module`, or a promise of one) or else from `source()`, once; a failed load is
 * tried again on the next call. Rejects with code `load_failed`.
 */
export function loader(source) {
  let loading = null;
  return (input) =>
    (loading ??= Promise.resolve(input ?? source())
      .then((module_or_path) => initWasm({ module_or_path }))
      .then(
        () => {},
        (error) => {
          loading = null;
          throw rtmError("load_failed", `could not load the rtm-sdk WebAssembly: ${error?.message ?? error}`);
        },
      ));
}

/** `RealtimeClient` before and after the load: each call goes to the WebAssembly's client. */
export class Client {
  #options;
  #init;
  #wasm = null;
  #ready = null;
  #listeners = [];

  constructor(options, init) {
    if (typeof options?.baseUrl !== "string" || !options.baseUrl) throw rtmError("invalid_argument", "baseUrl is required");
    this.#options = options;
    this.#init = init;
  }

  /** The WebAssembly's client, made once loaded, with the listeners added before. */
  #client() {
    return (this.#ready ??= this.#init()
      .then(() => {
        this.#wasm = new Wasm(this.#options);
        for (const [event, handler] of this.#listeners.splice(0)) this.#wasm.on(event, handler);
        return this.#wasm;
      })
      .catch((error) => {
        this.#ready = null;
        throw error;
      }));
  }

  connect() {
    return this.#client().then((c) => c.connect());
  }

  joinRoom(options) {
    return this.#client().then((c) => c.joinRoom(options));
  }

  emit(event, payload) {
    if (!this.#wasm) throw rtmError("disconnected", "not connected");
    this.#wasm.emit(String(event), payload);
  }

  emitWithAck(event, payload, timeoutMs) {
    return this.#client().then((c) => c.emitWithAck(String(event), payload, timeoutMs));
  }

  on(event, handler) {
    if (this.#wasm) return this.#wasm.on(String(event), handler);
    if (typeof handler !== "function") throw new TypeError("a listener must be a function");
    this.#listeners.push([String(event), handler]);
  }

  off(event, handler) {
    if (this.#wasm) return this.#wasm.off(String(event), handler);
    this.#listeners = this.#listeners.filter(([e, h]) => e !== String(event) || h !== handler);
  }

  get state() {
    return this.#wasm?.state ?? (this.#ready ? "connecting" : "disconnected");
  }

  disconnect() {
    if (this.#wasm) return this.#wasm.disconnect();
    return this.#ready ? this.#ready.then((c) => c.disconnect(), () => {}) : Promise.resolve();
  }

  free() {
    this.#wasm?.free();
    this.#wasm = this.#ready = null;
  }

  /** Testing aid: drops the WebSocket as a network failure would, without telling the client. */
  __dropTransport() {
    this.#wasm?.__dropTransport();
  }
}
