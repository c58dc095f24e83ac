// `<RealtimeProvider>`: one `RealtimeClient` for a subtree, and the hooks' state of that client
// (its connection and its rooms), which every provider of the same client shares.
import { createContext, createElement, useContext, useEffect, useState } from "react";
import { RealtimeClient } from "../index.js";
import { Connection } from "./connection.js";
import { Rooms } from "./room.js";

const RealtimeContext = createContext(null);

/** Each client's `Realtime`, made on first need (rendering makes it; it does no I/O). */
const realtimes = new WeakMap();

/** A client and what the hooks keep of it; started by the mounted providers of that client. */
class Realtime {
  #holds = 0;
  #stopping = null;

  /** `owned`: the provider made the client, so it connects it and disconnects it. */
  constructor(client, owned) {
    this.client = client;
    this.owned = owned;
    this.connection = new Connection(client, owned);
    this.rooms = new Rooms(client, this.connection);
  }

  /**
   * A provider mounted: the first starts (connects an owned client, follows its state). Returns
   * the function that lets go; the last to let go stops after a macrotask, unless a provider
   * mounts again (StrictMode's mount, unmount, mount connects once).
   */
  hold() {
    this.#holds++;
    if (this.#stopping !== null) {
      clearTimeout(this.#stopping);
      this.#stopping = null;
    } else if (this.#holds === 1) {
      if (this.owned) this.client.connect().catch(this.connection.failed);
      this.connection.attach();
    }
    return () => {
      if (--this.#holds > 0) return;
      this.#stopping = setTimeout(() => {
        this.#stopping = null;
        this.connection.detach();
        if (this.owned) this.client.disconnect();
      });
    };
  }
}

/**
 * Gives its subtree a client: `options` makes one (read once, on mount: remount the provider with
 * a `key` to change them), connected on mount and disconnected on unmount; or `client`, the app's
 * own, which the provider neither connects nor disconnects.
 */
export function RealtimeProvider({ options, client, children }) {
  const [owned] = useState(() => (client ? null : new RealtimeClient(options)));
  const theClient = client ?? owned;
  let realtime = realtimes.get(theClient);
  if (!realtime) realtimes.set(theClient, (realtime = new Realtime(theClient, theClient === owned)));
  useEffect(() => realtime.hold(), [realtime]);
  return createElement(RealtimeContext.Provider, { value: realtime }, children);
}

/** The nearest provider's `Realtime`; `hook` names the caller in the error outside of one. */
export function useRealtime(hook) {
  const realtime = useContext(RealtimeContext);
  if (!realtime) throw new Error(`${hook} must be used inside a <RealtimeProvider>`);
  return realtime;
}
