// One room as the hooks of one provider see it: joined once while some `useRoom` wants it, however
// many components use it, left when the last lets go; its presence kept as an immutable snapshot
// for `useSyncExternalStore`, a new object only when something visible changed; and the values of
// its storage keys that `useStorage`s read, each the same value until its key changes.

/** What `useRoom` shows before its room is joined, and in server rendering. */
export const EMPTY_ROOM = Object.freeze({
  status: "connecting",
  members: Object.freeze([]),
  connections: Object.freeze([]),
  count: null,
  complete: false,
  self: null,
  error: null,
});

/** An `Error` with a `code`, as the SDK rejects with. */
export const rtmError = (code, message) => Object.assign(new Error(message), { code });

/** The rooms of one provider's client, by id; a room's store lives while a hook uses it. */
export class Rooms {
  #client;
  #connection;
  #stores = new Map();

  constructor(client, connection) {
    this.#client = client;
    this.#connection = connection;
  }

  /** The store of `roomId`, if a hook uses it (render-safe: makes nothing). */
  peek(roomId) {
    return this.#stores.get(roomId);
  }

  /** The store of `roomId`, made on first use (from effects only). */
  use(roomId) {
    let store = this.#stores.get(roomId);
    if (!store) {
      store = new RoomStore(roomId, this.#client, this.#connection, () => {
        if (this.#stores.get(roomId) === store) this.#stores.delete(roomId);
      });
      this.#stores.set(roomId, store);
    }
    return store;
  }
}

class RoomStore {
  #roomId;
  #client;
  #connection;
  #onIdle;
  #unwatch;
  #userId = null;
  #state = {}; // the state a join sends: the hooks' `initialState`s and every patch since
  #unsent = null; // patches made while a join was in flight (it carries the older state)
  #settling = false; // a settle is due (see #changed)
  #joins = 0; // mounted `useRoom` hooks
  #counting = 0; // those of them that ask for `presence: "count"` only
  #teardown = null; // the timer of a deferred teardown (StrictMode mounts, unmounts, remounts)
  #joining = false;
  // A leave is answered before the next join goes: rtm-server handles one connection's events in
  // order, but other servers (and older rtm-servers) may not.
  #leaving = false;
  #channel = null; // the joined channel, also while it rejoins after a reconnect
  #joinedAs = null;
  #left = false; // `leave()` was called: no join until every hook let go
  #refused = false; // a join was refused: no new one until the connection comes back
  #error = null;
  #snapshot = EMPTY_ROOM;
  #watchers = new Set(); // React's `onChange` callbacks
  #events = new Map(); // event name → { handlers, dispatch } of `useRoomEvent`
  #keys = new Map(); // storage key → the `onChange`s of its `useStorage`s
  #values = new Map(); // storage key → its value as last read (the same until it changes)
  /** The store's own listeners on its channel. */
  #own = [
    ["presenceEvent", () => this.#changed()],
    ["snapshot", () => this.#changed()],
    ["page", () => this.#changed()],
    ["count", () => this.#changed()],
    ["heartbeatAck", () => this.#changed()], // the epoch may change
    ["reconnected", () => this.#setError(null)],
    ["storageChanged", ({ key }) => this.#storageChanged(key)],
    ["storageLoaded", () => this.#storageChanged(null)],
    ["error", (error) => this.#setError(error)],
    ["disconnected", () => this.#lost()],
  ];

  constructor(roomId, client, connection, onIdle) {
    this.#roomId = roomId;
    this.#client = client;
    this.#connection = connection;
    this.#onIdle = onIdle;
    this.#unwatch = connection.subscribe(() => {
      const { state } = connection.snapshot();
      if (state !== "connected") this.#refused = false;
      // A disconnected client has dropped every channel (one that was rejoining says nothing).
      if (state === "disconnected") this.#detach();
      this.#changed();
    });
  }

  get userId() {
    return this.#userId;
  }

  get snapshot() {
    return this.#snapshot;
  }

  /**
   * A `useRoom` of `userId` mounts: the room is joined (once for all of its hooks) as soon as the
   * client is connected, with the `initialState`s of the hooks mounted by then merged (what is set
   * already wins), for every presence event unless all of them ask for `presence: "count"`;
   * `onChange` is called after each change. Returns the function that lets go; the last hook to
   * let go leaves the room after a macrotask, unless one mounts again.
   */
  subscribe(userId, initialState, onChange, presence) {
    if (this.#joins > 0 && userId !== this.#userId) {
      throw new Error(
        `room "${this.#roomId}" is already used as "${this.#userId}" under this RealtimeProvider ` +
          "(a client joins a room once: use another provider for another user)",
      );
    }
    clearTimeout(this.#teardown);
    this.#teardown = null;
    if (this.#joins === 0 && userId !== this.#userId) this.#reset(userId);
    this.#state = { ...initialState, ...this.#state };
    this.#joins++;
    const counting = presence === "count";
    if (counting) this.#counting++;
    this.#watchers.add(onChange);
    this.#changed();
    return () => {
      this.#watchers.delete(onChange);
      if (counting) this.#counting--;
      if (--this.#joins > 0) return;
      this.#teardown = setTimeout(() => {
        this.#teardown = null;
        this.#reset(null);
        this.#changed();
      });
    };
  }

  /** A `useRoomEvent`: `handler` gets the room's `name` events; returns the function that stops. */
  listen(name, handler) {
    let event = this.#events.get(name);
    if (!event) {
      const handlers = new Set();
      event = { handlers, dispatch: (payload) => handlers.forEach((h) => h(payload)) };
      this.#events.set(name, event);
      this.#channel?.on(name, event.dispatch);
    }
    event.handlers.add(handler);
    return () => {
      event.handlers.delete(handler);
      if (event.handlers.size === 0) {
        this.#channel?.off(name, event.dispatch);
        this.#events.delete(name);
      }
      this.#changed();
    };
  }

  /**
   * A `useStorage` of `key`: `onChange` is called when the key's value may have changed; returns
   * the function that stops.
   */
  watch(key, onChange) {
    let watchers = this.#keys.get(key);
    if (!watchers) this.#keys.set(key, (watchers = new Set()));
    watchers.add(onChange);
    return () => {
      watchers.delete(onChange);
      if (watchers.size === 0) {
        this.#keys.delete(key);
        this.#values.delete(key);
      }
      this.#changed();
    };
  }

  /** The value of storage `key` (`undefined` when absent or not joined): the same until it changes. */
  value(key) {
    if (!this.#values.has(key)) this.#values.set(key, this.#channel?.storage.get(key));
    return this.#values.get(key);
  }

  /** The joined channel's storage, if joined. */
  get storage() {
    return this.#channel?.storage;
  }

  /**
   * Merges `patch` into this connection's state. Joined, it is sent; otherwise it goes with the
   * next (re)join. Resolves once sent and acknowledged, or kept for the join.
   */
  updateState(patch) {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
      return Promise.reject(rtmError("invalid_argument", "the patch must be an object"));
    }
    this.#state = { ...this.#state, ...patch };
    if (!this.#channel) {
      if (this.#joining) this.#unsent = { ...this.#unsent, ...patch };
      return Promise.resolve();
    }
    // A channel that is rejoining keeps the patch for its rejoin and rejects with `disconnected`.
    return this.#channel.updateState(patch).then(
      () => undefined,
      (error) => {
        if (error.code !== "disconnected") throw error;
      },
    );
  }

  /** Leaves the room for every hook using it, until they all unmount. */
  leave() {
    this.#left = true;
    const channel = this.#detach();
    this.#changed();
    return channel ? this.#leave(channel) : Promise.resolve();
  }

  #reset(userId) {
    this.#userId = userId;
    this.#state = {};
    this.#unsent = null;
    this.#left = false;
    this.#refused = false;
    this.#error = null;
  }

  /**
   * Something changed: settles once the current run of calls is over (a microtask), so that a
   * join counts every hook that the same React commit mounts.
   */
  #changed() {
    if (this.#settling) return;
    this.#settling = true;
    queueMicrotask(() => {
      this.#settling = false;
      this.#settle();
    });
  }

  /**
   * Joins or leaves so that the room is joined, as the right user, exactly while it is wanted;
   * tells React what changed; and lets the registry forget the store once nothing uses it.
   */
  #settle() {
    const want = this.#joins > 0 && !this.#left ? this.#userId : null;
    if (this.#channel && this.#joinedAs !== want) this.#leave(this.#detach());
    const connected = this.#connection.snapshot().state === "connected";
    if (want !== null && connected && !this.#channel && !this.#joining && !this.#leaving && !this.#refused) this.#join(want);
    this.#render();
    const unused = this.#events.size === 0 && this.#keys.size === 0;
    if (this.#joins === 0 && this.#teardown === null && !this.#joining && !this.#leaving && !this.#channel && unused) {
      this.#unwatch();
      this.#onIdle();
    }
  }

  #join(userId) {
    this.#joining = true;
    this.#unsent = null;
    const presence = this.#joins > this.#counting ? "events" : "count";
    this.#client
      .joinRoom({ roomId: this.#roomId, userId, state: this.#state, presence })
      .then(
        ({ channel }) => {
          this.#channel = channel;
          this.#joinedAs = userId;
          this.#error = null;
          this.#storageChanged(null);
          for (const [name, listener] of this.#listeners()) channel.on(name, listener);
          const unsent = this.#unsent;
          this.#unsent = null;
          if (unsent) this.updateState(unsent).catch((error) => this.#setError(error));
        },
        (error) => {
          // `disconnected`: the connection went while joining; the next `connected` joins again.
          if (error.code !== "disconnected") {
            this.#refused = true;
            this.#error = error;
          }
        },
      )
      .finally(() => {
        this.#joining = false;
        this.#changed();
      });
  }

  #leave(channel) {
    this.#leaving = true;
    return channel.leave().finally(() => {
      this.#leaving = false;
      this.#changed();
    });
  }

  /**
   * The channel's connection is gone. The client keeps the channel while it reconnects (and
   * rejoins it); otherwise the channel is gone too: the client disconnected or gave up, or the
   * server refused the rejoin (then a new join is tried, once).
   */
  #lost() {
    if (this.#client.state !== "reconnecting") this.#detach();
    this.#changed();
  }

  #setError(error) {
    this.#error = error;
    this.#changed();
  }

  /** Stops listening to the channel and forgets it; returns it. */
  #detach() {
    const channel = this.#channel;
    if (channel) for (const [name, listener] of this.#listeners()) channel.off(name, listener);
    this.#channel = null;
    if (channel) this.#storageChanged(null);
    return channel;
  }

  /** Storage `key` (every key when `null`) may have another value: its `useStorage`s read it again. */
  #storageChanged(key) {
    const keys = key === null ? [...this.#keys.keys()] : [key];
    for (const changed of keys) {
      this.#values.delete(changed);
      for (const onChange of this.#keys.get(changed) ?? []) onChange();
    }
  }

  /** Every listener the channel must have: the store's own and one per `useRoomEvent` name. */
  *#listeners() {
    yield* this.#own;
    for (const [name, { dispatch }] of this.#events) yield [name, dispatch];
  }

  /** Makes the next snapshot from the channel; tells React only if something changed. */
  #render() {
    const channel = this.#channel;
    const self = channel?.self ?? null;
    const old = this.#snapshot;
    const next = {
      status: this.#left
        ? "left"
        : channel
          ? self
            ? "joined"
            : "reconnecting"
          : this.#refused || this.#connection.snapshot().state === "disconnected"
            ? "disconnected"
            : "connecting",
      members: same(old.members, channel ? channel.members() : []),
      connections: same(old.connections, channel ? channel.connections() : []),
      count: channel ? channel.count() : null,
      complete: channel ? channel.complete : false,
      self: same(old.self, self),
      error: this.#error,
    };
    if (Object.keys(next).some((key) => next[key] !== old[key])) {
      this.#snapshot = next;
      for (const onChange of this.#watchers) onChange();
    }
  }
}

/** `old` if `now` holds the same JSON (arrays keep their identity between changes), else `now`. */
const same = (old, now) => (JSON.stringify(old) === JSON.stringify(now) ? old : now);
