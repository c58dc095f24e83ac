// The types of the npm package rtm-sdk (both entries: index.js for browsers and bundlers,
// node.js for Node, Deno and Bun).

/**
 * Where the WebAssembly comes from, for `init(input)`: a URL (string or `URL`), a `Request` or
 * `Response`, its bytes, a compiled `WebAssembly.Module`, or a promise of one of these.
 */
export type InitInput =
  | string
  | URL
  | Request
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<string | URL | Request | Response | BufferSource | WebAssembly.Module>;

/**
 * Loads the WebAssembly, once for every client; the first `connect()` does it when nobody did.
 * Call it to preload, or to say where the `.wasm` is (a CDN, a strict CSP): by default browsers
 * fetch `rtm_sdk_bg.wasm` from beside the package's `index.js` (bundlers emit it), and Node reads
 * the package's file. Rejects with code `load_failed`; a later call tries again.
 */
export function init(input?: InitInput): Promise<void>;

/** The WebSocket class the client uses: the standard one, or a compatible one such as `ws`'s. */
export interface WebSocketClass {
  new (url: string): {
    binaryType: string;
    onopen: ((event: any) => void) | null;
    onmessage: ((event: { data: any }) => void) | null;
    onclose: ((event: { code: number }) => void) | null;
    onerror: ((event: any) => void) | null;
    send(data: string): void;
    close(): void;
  };
}

/** Reconnection after a lost connection: exponential backoff with full jitter. */
export interface ReconnectionOptions {
  /** Reconnect at all (default true). */
  enabled?: boolean;
  /** Upper bound of the first delay, ms (default 500). */
  initialDelayMs?: number;
  /** Largest upper bound a delay grows to, ms (default 10000). */
  maxDelayMs?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number | null;
}

/** Presence heartbeats. */
export interface PresenceOptions {
  /** How often each channel heartbeats, ms (default 10000). */
  heartbeatIntervalMs?: number;
  /** How long a heartbeat waits for its ack, ms (default max(0.8 × interval, 1000)). */
  heartbeatAckTimeoutMs?: number | null;
  /** Heartbeats in a row without ack before the connection counts as dead (default 2). */
  maxMissedHeartbeats?: number;
  /**
   * State updates within this window merge into one heartbeat, ms (default 0: each goes at
   * once). The first `updateState` after a quiet window goes at once; later ones within the
   * window wait for its end and go together, the latest value of each key winning; each
   * caller's promise resolves with that heartbeat's answer. For cursors and typing indicators.
   */
  throttleMs?: number;
}

/** Options of `new RealtimeClient(...)`. */
export interface ClientOptions {
  /** The server, e.g. `"http://localhost:3000"`. */
  baseUrl: string;
  /** Called before every (re)connect; returns the Socket.IO handshake `auth`, e.g. `{ token }`. */
  authProvider?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  reconnection?: ReconnectionOptions;
  presence?: PresenceOptions;
  /** How long one connection attempt may take, ms (default 10000). */
  connectTimeoutMs?: number;
  /** How long a join, leave or ack waits for its answer, ms (default 10000). */
  requestTimeoutMs?: number;
  /**
   * The WebSocket class to use where there is no global one (Node 20 without
   * `--experimental-websocket`), e.g. `import WebSocket from "ws"`. Default: `globalThis.WebSocket`.
   */
  WebSocket?: WebSocketClass;
}

/** A connection's shared state: any JSON object. */
export type PresenceState = Record<string, unknown>;

/**
 * What a channel receives of its room's presence: `"events"` (the default: a snapshot and every
 * join, update and leave) or `"count"` (only how many connections the room has: `count()` and the
 * `count` event; the members and connections stay empty), for audiences of thousands.
 */
export type PresenceLevel = "events" | "count";

/** Options of `client.joinRoom(...)`. */
export interface JoinOptions {
  roomId: string;
  userId: string;
  state?: PresenceState;
  /** What the channel receives of the room's presence (default `"events"`; anything but `"count"` is `"events"`). */
  presence?: PresenceLevel;
}

/** One connection in a room. */
export interface PresenceEntry {
  connId: string;
  userId: string;
  state: PresenceState;
  /** When the server last heard from it, ms since the Unix epoch. */
  lastSeenMs: number;
  /** The epoch of its join. */
  epoch: number;
  /** State changes since that join (absent from servers that send none, such as the TypeScript one). */
  rev?: number;
}

/** This client's identity in a room. */
export interface SelfInfo {
  connId: string;
  epoch: number;
  /**
   * Whether this join took over the client's earlier entry of the room, unseen by the others
   * (the SDK resumes by itself after a lost connection or a server's drain).
   */
  resumed: boolean;
  /**
   * The secret the SDK sends back to resume this entry; keep it private. Absent from servers
   * without resume (the TypeScript one).
   */
  resumeToken?: string;
}

/** The server's answer to a join. */
export interface JoinResponse {
  /**
   * The room's connections: all of them, or in a large room the first page (the channel reads
   * the others by itself: `page` events, then `complete`); empty for a `"count"` member.
   */
  snapshot: PresenceEntry[];
  /** How many connections the room has (absent from servers without paging). */
  total?: number;
  /** Where the next page starts; `null` or absent when the snapshot is whole. */
  cursor?: string | null;
  self: SelfInfo;
}

/** The server's answer to a heartbeat or state update. */
export interface HeartbeatResponse {
  changed: boolean;
  epoch: number;
}

/** A `presence:event`. */
export interface PresenceEvent {
  type: "join" | "update" | "leave";
  roomId: string;
  userId: string;
  connId: string;
  /** The state after the change; `null` on leave. */
  state: PresenceState | null;
  ts: number;
  epoch: number;
  /** State changes since that join (absent from servers that send none: arrival order then rules). */
  rev?: number;
}

/** One user in a room, with all of their connections (tabs). */
export interface Member {
  userId: string;
  connections: PresenceEntry[];
  /** The state of their most recently changed connection. */
  state: PresenceState;
  lastSeenMs: number;
}

/** The connection state. */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

/** A change of connection state. */
export interface ConnectionStateChange {
  state: ConnectionState;
  reason: string;
  /** While reconnecting: the attempt about to be made. */
  attempt: number;
  /** While reconnecting: ms until that attempt. */
  retryInMs: number | null;
}

/**
 * Every rejection is an `Error` with a `code`: the server's (`invalid_payload`, `forbidden`,
 * `rate_limited`, `not_joined`, `stale_epoch`, `internal`, `unavailable`, `limit_exceeded`,
 * `unknown_event`: no server module handles the event; `conflict`: see `StorageConflict`) or the
 * client's own (`timeout`,
 * `disconnected`, `missed_heartbeats`, `connect_refused`, `transport`, `gave_up`,
 * `invalid_state`, `invalid_argument`, `invalid_response`, `load_failed`).
 */
export interface RtmError extends Error {
  code: string;
}

/** A key's value and version (0 while the key is absent, +1 on every write). */
export interface StorageEntry<T = unknown> {
  value: T;
  version: number;
}

/** A `storage:changed`: a key of the room's storage was written, or deleted (`value` null, `version` 0). */
export interface StorageChange<T = unknown> {
  roomId: string;
  key: string;
  value: T | null;
  version: number;
  /** Who wrote it (the user they joined as); `null` for the backend API and server modules. */
  userId: string | null;
  /** The room's storage revision of this write: later writes have larger ones. */
  rev: number;
}

/**
 * The rejection of a write whose `ifVersion` was not the key's version (or of an `update` after
 * its last attempt): nothing changed; `current` is the key as it is now (`null` at version 0 when
 * absent).
 */
export interface StorageConflict extends RtmError {
  code: "conflict";
  current: StorageEntry;
}

/** Options of a storage write. */
export interface StorageWriteOptions {
  /**
   * Write only if the key is at this version (0: only if it is absent); otherwise the promise
   * rejects with a `StorageConflict`.
   */
  ifVersion?: number;
}

/**
 * A joined room's storage: up to 256 keys, each a JSON value with its own version, shared by
 * everyone in the room. Reads come from the channel's view, loaded after every join (a rejoin, a
 * resume: the `storageLoaded` event) and kept current from the room's changes (each a
 * `storageChanged` event, once the view holds it); writes go to the server, and the view takes
 * them (yours too) when their change arrives.
 */
export interface RoomStorage {
  /** The value of `key` in the view; `undefined` when the room does not have it (or before the first `storageLoaded`). */
  get<T = unknown>(key: string): T | undefined;
  /** Every key of the view, with its value and version. */
  entries(): Record<string, StorageEntry>;
  /** Writes `value` (any JSON but `null`, at most 64 KiB) to `key`; resolves with its new version. */
  set(key: string, value: unknown, options?: StorageWriteOptions): Promise<number>;
  /** Deletes `key`; resolves with whether the room had it. */
  delete(key: string, options?: StorageWriteOptions): Promise<boolean>;
  /**
   * Sets `key` to `fn(its current value)` atomically: a write on condition of the view's version
   * that, when another write got there first, calls `fn` again with the value that conflict
   * brought and tries again after a short random wait, up to 32 times (then rejects with the
   * `StorageConflict`). `fn` gets `undefined` when the key is absent and may be called several
   * times: keep it free of side effects. Resolves with what was written and its version.
   */
  update<T = unknown>(key: string, fn: (current: T | undefined) => T): Promise<StorageEntry<T>>;
}

/** The channel's own events and their argument. */
export interface ChannelEventMap {
  presenceEvent: PresenceEvent;
  snapshot: PresenceEntry[];
  connected: undefined;
  disconnected: { reason: string };
  reconnected: { snapshot: PresenceEntry[] };
  /**
   * A later page of a large room's snapshot merged into the view: the `entries` it took (not
   * those the view knew newer, or saw leave); `complete` on the last page.
   */
  page: { entries: PresenceEntry[]; complete: boolean };
  /** The room's number of connections changed (a `"count"` member's: see `count()`). */
  count: number;
  heartbeatAck: { changed: boolean; epoch: number; rttMs: number };
  /** A key of the room's storage changed, and `storage` holds the change. */
  storageChanged: StorageChange;
  /** The room's storage was (re)loaded (after a join, a rejoin or resume): read it again whole. */
  storageLoaded: undefined;
  error: RtmError;
}

/** The client's events and their argument. */
export interface ClientEventMap {
  connectionStateChange: ConnectionStateChange;
}

/**
 * A connection to an rtm server. Constructing one does no I/O (safe in SSR and tests); the
 * first call that talks to the server loads the WebAssembly (see `init`).
 */
export class RealtimeClient {
  /** Throws `invalid_argument` without a `baseUrl`; other bad options reject `connect()`. */
  constructor(options: ClientOptions);
  /**
   * Connects; rejects with `connect_refused`, `transport`, `load_failed` or `invalid_argument`.
   * Lost connections are retried.
   */
  connect(): Promise<void>;
  /** Joins a room. */
  joinRoom(options: JoinOptions): Promise<{ channel: PresenceChannel; response: JoinResponse }>;
  /** Sends an event of the app's own. */
  emit(event: string, payload?: unknown): void;
  /** Sends an event and resolves with the server's answer. */
  emitWithAck<T = unknown>(event: string, payload?: unknown, timeoutMs?: number): Promise<T>;
  on<K extends keyof ClientEventMap>(event: K, handler: (arg: ClientEventMap[K]) => void): void;
  /**
   * An event of the app's own that the server sends this connection (the backend API's emits to
   * this user, to everyone or to a room), whichever rooms it is in.
   */
  on(event: string, handler: (payload: any) => void): void;
  off<K extends keyof ClientEventMap>(event: K, handler: (arg: ClientEventMap[K]) => void): void;
  off(event: string, handler: (payload: any) => void): void;
  readonly state: ConnectionState;
  /** Leaves every room and closes; pending promises reject with `disconnected`. */
  disconnect(): Promise<void>;
  /** Frees the client's memory (after `disconnect()`). */
  free(): void;
}

/** One joined room. It rejoins by itself after a reconnect, with its last state. */
export class PresenceChannel {
  readonly roomId: string;
  /** This connection's identity while joined, else `null`. */
  readonly self: SelfInfo | null;
  on<K extends keyof ChannelEventMap>(event: K, handler: (arg: ChannelEventMap[K]) => void): void;
  /** A custom event of the app, by name. */
  on(event: string, handler: (payload: any) => void): void;
  off<K extends keyof ChannelEventMap>(event: K, handler: (arg: ChannelEventMap[K]) => void): void;
  off(event: string, handler: (payload: any) => void): void;
  /** The room's users, their tabs merged. */
  members(): Member[];
  /** The room's connections. */
  connections(): PresenceEntry[];
  /** The room's storage (see `RoomStorage`). */
  readonly storage: RoomStorage;
  /**
   * How many connections the room has: for a `"count"` member the server's latest count (the
   * join's `total`, then each `count` event); for an `"events"` member the view's number of
   * connections (short of the room's while a large room's snapshot is still being read: see
   * `complete`). `null` before the first count.
   */
  count(): number | null;
  /**
   * Whether the view holds the whole room: joined, and every page of its last snapshot read
   * (a large room's snapshot comes in pages: `page` events, the last with `complete: true`).
   */
  readonly complete: boolean;
  /**
   * Merges `patch` into this connection's state and sends it: at once, or merged with others at
   * the end of the `presence.throttleMs` window.
   */
  updateState(patch: PresenceState): Promise<HeartbeatResponse>;
  emit(event: string, payload?: unknown): void;
  emit<T = unknown>(event: string, payload: unknown, options: { ack: true; timeoutMs?: number }): Promise<T>;
  /** Leaves the room; resolves after the server's ack or its timeout (never rejects). */
  leave(): Promise<void>;
}
