// `RealtimeClient`: the app's connection. The protocol is the WebAssembly's `Core`, a sans-IO
// state machine; this file does its I/O. Each input goes to `Core` with the time, then `#pump`
// carries out what it says (open, send, close, settle a promise, call listeners) and sets the
// one timer for its next deadline.
import { Core } from "./rtm_sdk.js";
import { PresenceChannel } from "./channel.js";
import { fromReport, jsonText, objectText, rtmError } from "./errors.js";
import { Listeners } from "./listeners.js";
import { watchPage } from "./lifecycle.js";
import { Transport } from "./transport.js";

const now = () => globalThis.performance?.now() ?? Date.now();

export class Client {
  #options;
  #load;
  #core = null;
  #loading = null;
  #listeners = new Listeners();
  #rooms = new Map(); // roomId → Listeners of its channel
  #waiting = new Map(); // request id → { resolve, reject, room? }
  #transport = null;
  #timer = null;
  #timerAt = undefined;
  #unwatch = null;
  #link;

  /** `load()` loads the WebAssembly (once; see load.js). */
  constructor(options, load) {
    if (typeof options?.baseUrl !== "string" || options.baseUrl === "") {
      throw rtmError("invalid_argument", "baseUrl is required");
    }
    this.#options = options;
    this.#load = load;
    this.#link = {
      read: (f) => (this.#core ? f(this.#core) : JSON.stringify([])),
      listeners: (room) => this.#roomListeners(room),
      request: (start) => this.#request(start),
      send: (event, payload) => this.emit(event, payload),
      forget: (room) => this.#rooms.delete(room),
    };
  }

  /** Connects; lost connections are retried with backoff. */
  connect() {
    return this.#request((core, t) => core.connect(t));
  }

  /** Joins a room; resolves with `{ channel, response }`. */
  joinRoom(options) {
    const { roomId, userId, state } = options ?? {};
    if (typeof roomId !== "string") return Promise.reject(rtmError("invalid_argument", "roomId is required"));
    if (typeof userId !== "string") return Promise.reject(rtmError("invalid_argument", "userId is required"));
    return this.#request((core, t) => core.join(t, roomId, userId, objectText(state ?? {}, "state")), roomId);
  }

  /** Sends an event without an ack; throws `disconnected` when not connected. */
  emit(event, payload) {
    const text = jsonText(payload);
    if (!this.#core?.emit(String(event), text)) throw rtmError("disconnected", "not connected");
    this.#pump();
  }

  /** Sends an event and resolves with the server's answer. */
  emitWithAck(event, payload, timeoutMs) {
    return this.#request((core, t) => core.request(t, String(event), jsonText(payload), timeoutMs));
  }

  on(event, handler) {
    this.#listeners.on(event, handler);
  }

  off(event, handler) {
    this.#listeners.off(event, handler);
  }

  /** `connecting`, `connected`, `reconnecting` or `disconnected`. */
  get state() {
    if (this.#core) return this.#core.state();
    return this.#loading ? "connecting" : "disconnected";
  }

  /** Leaves every room and closes; pending promises reject with `disconnected`. */
  disconnect() {
    const close = () => {
      this.#unwatch?.();
      this.#unwatch = null;
      this.#input((core) => core.disconnect(now()));
    };
    if (this.#core) close();
    else if (this.#loading) return this.#loading.then(close, () => {});
    return Promise.resolve();
  }

  /** Frees the WebAssembly memory of a disconnected client. */
  free() {
    this.#core?.free();
    this.#core = null;
  }

  /** Testing aid: drops the WebSocket as a network failure would, without telling the client. */
  __dropTransport() {
    this.#transport?.drop();
  }

  // ===== internals =====

  /** The WebAssembly client, made once the WebAssembly is loaded. */
  #ready() {
    if (this.#core) return Promise.resolve(this.#core);
    this.#loading ??= this.#load()
      .then(() => {
        const { authProvider, WebSocket, ...plain } = this.#options;
        try {
          this.#core = new Core(JSON.stringify(plain), Math.random());
        } catch (message) {
          throw rtmError("invalid_argument", `invalid options: ${message}`);
        }
        this.#unwatch = watchPage({
          onHide: () => this.#input((core) => core.disconnect(now())),
          onVisible: () => this.#input((core) => core.tick(now())),
        });
        return this.#core;
      })
      .finally(() => {
        this.#loading = null;
      });
    return this.#loading;
  }

  /** Starts a request with `start(core, now)` → its id; resolves or rejects with its outcome. */
  #request(start, joinRoom) {
    return this.#ready().then(
      (core) =>
        new Promise((resolve, reject) => {
          const id = start(core, now());
          this.#waiting.set(id, { resolve, reject, joinRoom });
          this.#pump();
        }),
    );
  }

  /** Hands the core an input, then carries out what follows. */
  #input(f) {
    if (!this.#core) return;
    f(this.#core);
    this.#pump();
  }

  /** Carries out everything the core says until it says nothing more, then arms the timer. */
  #pump() {
    const core = this.#core;
    if (!core) return;
    for (;;) {
      // Everything first, then act: a listener may call back into the core.
      const outputs = [];
      for (let out = core.poll(); out !== undefined; out = core.poll()) outputs.push(JSON.parse(out));
      if (!outputs.length) break;
      for (const output of outputs) this.#carryOut(output);
    }
    this.#arm();
  }

  #carryOut([tag, a, b, c]) {
    switch (tag) {
      case "open":
        this.#transport?.close();
        this.#transport = new Transport(a, b, this.#options, (what, value) => this.#reported(a, what, value));
        break;
      case "send":
        if (this.#transport?.id === a) this.#transport.send(b);
        break;
      case "close":
        if (this.#transport?.id === a) {
          this.#transport.close();
          this.#transport = null;
        }
        break;
      case "state":
        this.#listeners.emit("connectionStateChange", a);
        break;
      case "done":
        this.#settle(a, b, c);
        break;
      case "room":
        this.#rooms.get(a)?.emit(b, b === "error" ? fromReport(c) : (c ?? undefined));
        break;
      case "event":
        // The server's app events, by name; never mistaken for the client's own event.
        if (a !== "connectionStateChange") this.#listeners.emit(a, b ?? undefined);
        break;
    }
  }

  /** What transport `id` reported. */
  #reported(id, what, value) {
    this.#input((core) => {
      if (what === "opened") core.opened(now(), id, value == null ? undefined : JSON.stringify(value));
      else if (what === "frame") core.frame(now(), id, value);
      else core.closed(now(), id, value);
    });
  }

  #settle(id, ok, value) {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    this.#waiting.delete(id);
    const room = waiting.joinRoom;
    if (!ok) {
      // A refused join drops the room's listeners, unless the room was joined already.
      if (room !== undefined && value.code !== "invalid_state") this.#rooms.delete(room);
      waiting.reject(fromReport(value));
    } else if (room !== undefined) {
      this.#roomListeners(room);
      waiting.resolve({ channel: new PresenceChannel(room, this.#link), response: value });
    } else {
      waiting.resolve(value ?? undefined);
    }
  }

  #roomListeners(room) {
    let listeners = this.#rooms.get(room);
    if (!listeners) this.#rooms.set(room, (listeners = new Listeners()));
    return listeners;
  }

  #arm() {
    const at = this.#core?.deadline();
    if (at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = undefined;
      this.#input((core) => core.tick(now()));
    }, Math.max(0, at - now()));
  }
}
