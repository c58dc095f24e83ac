// The types of rtm-sdk/react: React bindings of rtm-sdk (React ≥ 18).
import type { ReactElement, ReactNode } from "react";
import type {
  ClientOptions,
  ConnectionStateChange,
  Member,
  PresenceEntry,
  PresenceLevel,
  RealtimeClient,
  RtmError,
  SelfInfo,
} from "./index.js";

export type RealtimeProviderProps = { children?: ReactNode } & (
  | {
      /** The options of the client the provider makes, connects on mount and disconnects on unmount (read once). */
      options: ClientOptions;
      client?: undefined;
    }
  | {
      /** A client of the app's own: the provider neither connects nor disconnects it. */
      client: RealtimeClient;
      options?: undefined;
    }
);

/**
 * Gives its subtree one `RealtimeClient`, for the hooks. With `options` it makes the client when it
 * mounts, connects it, and disconnects it when it unmounts (StrictMode's mount, unmount, mount
 * connects once); the options are read once (remount the provider with a `key` to change them).
 * With `client`, the app's own client, it neither connects nor disconnects it.
 */
export function RealtimeProvider(props: RealtimeProviderProps): ReactElement;

/** One connection in a room, with the app's state type. */
export interface RoomConnection<S extends object = Record<string, unknown>> extends Omit<PresenceEntry, "state"> {
  state: S;
}

/** One user in a room, all of their connections (tabs) merged, with the app's state type. */
export interface RoomMember<S extends object = Record<string, unknown>> extends Omit<Member, "state" | "connections"> {
  connections: RoomConnection<S>[];
  /** The state of their most recently changed connection. */
  state: S;
}

/**
 * Where `useRoom` is: `connecting` (waiting for the connection, or joining), `joined`,
 * `reconnecting` (the connection was lost; the room is rejoined when it is back), `disconnected`
 * (the client is disconnected, or the join was refused: see `error`; it joins again when the
 * client connects again), `left` (after `leave()`).
 */
export type RoomStatus = "connecting" | "joined" | "reconnecting" | "disconnected" | "left";

export interface UseRoomOptions<S extends object = Record<string, unknown>> {
  userId: string;
  /** This connection's state when it joins (read when the join starts). */
  initialState?: S;
  /**
   * `"count"`: the room's number of connections only (`count`; `members` and `connections` stay
   * empty), for audiences of thousands. Read when the join starts; the room is joined for events
   * (the default) when any of its mounted `useRoom`s asks for them.
   */
  presence?: PresenceLevel;
}

/** What `useRoom` returns: the room as it is now, and what the component can do in it. */
export interface UseRoomResult<S extends object = Record<string, unknown>> {
  status: RoomStatus;
  /** The room's users, you included, their tabs merged; the same array until it changes. */
  members: readonly RoomMember<S>[];
  /** The room's connections; the same array until it changes. */
  connections: readonly RoomConnection<S>[];
  /**
   * How many connections the room has (see `PresenceChannel.count()`): the server's count with
   * `presence: "count"`, else the view's; `null` before the first.
   */
  count: number | null;
  /** Whether `members` holds the whole room (a large room's snapshot arrives in pages). */
  complete: boolean;
  /** This connection's identity while joined, else `null`. */
  self: SelfInfo | null;
  /** The last error of the room (a refused join, missed heartbeats, ...), until it is joined again. */
  error: RtmError | null;
  /**
   * Merges `patch` into this connection's state (see `presence.throttleMs`). Not joined, it goes
   * with the next (re)join. Resolves once acknowledged, or kept for the join.
   */
  updateState(patch: Partial<S>): Promise<void>;
  /** Sends an event of the app's own (throws `disconnected` when not connected). */
  emit(event: string, payload?: unknown): void;
  /** Sends an event and resolves with the server's answer. */
  emit<T = unknown>(event: string, payload: unknown, options: { ack: true; timeoutMs?: number }): Promise<T>;
  /** Leaves the room, for every component using it, until they all unmount (never rejects). */
  leave(): Promise<void>;
}

/**
 * Joins `roomId` as `userId` while the component is mounted, once however many components under
 * the provider use the room (one user per room and provider); leaves on unmount or when `roomId`
 * or `userId` change. Re-renders on presence changes only.
 *
 * ```tsx
 * const { status, members, updateState } = useRoom<{ status: string }>("lobby", { userId: "ada" });
 * ```
 */
export function useRoom<S extends object = Record<string, unknown>>(roomId: string, options: UseRoomOptions<S>): UseRoomResult<S>;

/**
 * The provider's connection: `connecting`, `connected`, `reconnecting` (with the `attempt` about
 * to be made and `retryInMs`), `disconnected` (with the `reason`).
 */
export function useConnectionState(): ConnectionStateChange;

/**
 * Calls `handler` (the latest one rendered) with each `event` of `roomId` (an event of the app's
 * own, such as `chat:message`, or a channel event such as `presenceEvent`) while the component is
 * mounted. It does not join the room: a `useRoom` under the same provider does.
 */
export function useRoomEvent<T = any>(roomId: string, event: string, handler: (payload: T) => void): void;

/**
 * The value of storage `key` of `roomId` (`undefined` while the key is absent, or before the room
 * is joined) and its setter, re-rendering when that key changes. `set(value)` writes the value;
 * `set((current) => next)` updates it with a compare-and-set that retries on conflict
 * (`RoomStorage.update`). Both resolve with the key's new version, and reject with `invalid_state`
 * while the room is not joined. It does not join the room: a `useRoom` under the same provider
 * does.
 *
 * ```tsx
 * const [slide = 0, setSlide] = useStorage<number>("deck", "slide");
 * <button onClick={() => setSlide((n = 0) => n + 1)}>next</button>
 * ```
 */
export function useStorage<T = unknown>(
  roomId: string,
  key: string,
): [T | undefined, (next: T | ((current: T | undefined) => T)) => Promise<number>];

/** The provider's client, for what the hooks do not cover. */
export function useRealtimeClient(): RealtimeClient;
