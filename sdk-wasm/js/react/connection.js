// The client's connection state as the hooks see it: the last `connectionStateChange`, kept as
// an immutable snapshot for `useSyncExternalStore`; the rooms follow it too (room.js).

/** What server rendering shows, and a client about to connect. */
export const CONNECTING = Object.freeze({ state: "connecting", reason: "", attempt: 0, retryInMs: null });

export class Connection {
  #client;
  #snapshot;
  #watchers = new Set();
  #changed = (change) => this.#set(change);

  /** `owned`: the provider made the client and connects it on mount. */
  constructor(client, owned) {
    this.#client = client;
    this.#snapshot = owned ? CONNECTING : { ...CONNECTING, state: client.state };
  }

  /** The current snapshot; the same object until the state changes. */
  snapshot = () => this.#snapshot;

  /** Calls `onChange` after each change; returns the function that stops. */
  subscribe = (onChange) => {
    this.#watchers.add(onChange);
    return () => void this.#watchers.delete(onChange);
  };

  /** Follows the client's state changes (while a provider holds the client). */
  attach() {
    this.#client.on("connectionStateChange", this.#changed);
    const state = this.#client.state;
    if (state !== this.#snapshot.state) this.#set({ ...CONNECTING, state });
  }

  detach() {
    this.#client.off("connectionStateChange", this.#changed);
  }

  /** A rejected `connect()`; failures before the WebAssembly runs (`load_failed`) have no event. */
  failed = (error) => {
    if (this.#snapshot.state !== "disconnected") {
      this.#set({ ...CONNECTING, state: "disconnected", reason: String(error?.message ?? error) });
    }
  };

  #set(snapshot) {
    this.#snapshot = snapshot;
    for (const onChange of this.#watchers) onChange();
  }
}
