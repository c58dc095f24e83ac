// `PresenceChannel`: one joined room, as the app holds it. It asks its client for everything
// through `link` (see `Client#link` in client.js).
import { jsonText, objectText } from "./errors.js";

export class PresenceChannel {
  #room;
  #link;

  /** Made by the client when a join succeeds; apps get it from `joinRoom`. */
  constructor(room, link) {
    this.#room = room;
    this.#link = link;
  }

  get roomId() {
    return this.#room;
  }

  /** This connection's identity in the room (`SelfInfo`) while joined, else `null`. */
  get self() {
    const me = this.#link.read((core) => core.me(this.#room));
    return me === undefined ? null : JSON.parse(me);
  }

  /** The room's users, their tabs merged. */
  members() {
    return JSON.parse(this.#link.read((core) => core.members(this.#room)));
  }

  /** The room's connections. */
  connections() {
    return JSON.parse(this.#link.read((core) => core.connections(this.#room)));
  }

  on(event, handler) {
    this.#link.listeners(this.#room).on(event, handler);
  }

  off(event, handler) {
    this.#link.listeners(this.#room).off(event, handler);
  }

  /** Merges `patch` into this connection's state and sends it (see `presence.throttleMs`). */
  updateState(patch) {
    return this.#link.request((core, now) => core.update(now, this.#room, objectText(patch, "the patch")));
  }

  /** `emit(name, payload)` sends; with `{ ack: true, timeoutMs }` it resolves with the answer. */
  emit(event, payload, options) {
    if (options?.ack) {
      return this.#link.request((core, now) => core.request(now, event, jsonText(payload), options.timeoutMs));
    }
    this.#link.send(event, payload);
  }

  /** Leaves the room; resolves after the server's ack or its timeout (it never rejects). */
  leave() {
    this.#link.forget(this.#room);
    return this.#link.request((core, now) => core.leave(now, this.#room));
  }
}
