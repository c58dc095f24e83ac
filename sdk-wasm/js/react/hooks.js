// The hooks. Each reads a store of the nearest provider (connection.js, room.js) through
// `useSyncExternalStore`; server rendering gets the empty, `connecting` snapshots and touches
// neither the network nor the WebAssembly (stores start in effects, which servers do not run).
import { useCallback, useEffect, useInsertionEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { CONNECTING } from "./connection.js";
import { useRealtime } from "./provider.js";
import { EMPTY_ROOM, rtmError } from "./room.js";

const serverRoom = () => EMPTY_ROOM;
const serverConnection = () => CONNECTING;
const serverValue = () => undefined;

/**
 * Joins `roomId` as `userId` while the component is mounted (once, however many components of the
 * provider use the room); leaves on unmount or when `roomId` or `userId` change. `initialState`
 * goes with the join (merged with that of the room's other hooks); `presence: "count"` asks for
 * the room's count only (unless another hook of the room asks for events). Re-renders only when
 * what it returns changed.
 */
export function useRoom(roomId, { userId, initialState, presence } = {}) {
  const { client, rooms } = useRealtime("useRoom");
  // `initialState` is read by the subscription that joins; a new one is no reason to join again.
  const subscribe = useCallback(
    (onChange) => rooms.use(roomId).subscribe(userId, initialState, onChange, presence),
    [rooms, roomId, userId, presence],
  );
  const getSnapshot = () => {
    const store = rooms.peek(roomId);
    return store?.userId === userId ? store.snapshot : EMPTY_ROOM;
  };
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, serverRoom);
  const actions = useMemo(
    () => ({
      updateState: (patch) =>
        rooms.peek(roomId)?.updateState(patch) ?? Promise.reject(rtmError("invalid_state", `not in room ${roomId}`)),
      emit: (event, payload, options) =>
        options?.ack ? client.emitWithAck(event, payload, options.timeoutMs) : client.emit(event, payload),
      leave: () => rooms.peek(roomId)?.leave() ?? Promise.resolve(),
    }),
    [client, rooms, roomId],
  );
  return useMemo(() => ({ ...snapshot, ...actions }), [snapshot, actions]);
}

/** The client's connection state: `{ state, reason, attempt, retryInMs }`. */
export function useConnectionState() {
  const { connection } = useRealtime("useConnectionState");
  return useSyncExternalStore(connection.subscribe, connection.snapshot, serverConnection);
}

/**
 * Calls `handler` (its latest version) with each `eventName` event of `roomId` while the component
 * is mounted. It does not join: some `useRoom` of the provider does.
 */
export function useRoomEvent(roomId, eventName, handler) {
  const { rooms } = useRealtime("useRoomEvent");
  const latest = useRef(handler);
  useInsertionEffect(() => {
    latest.current = handler;
  });
  useEffect(() => rooms.use(roomId).listen(eventName, (payload) => latest.current(payload)), [rooms, roomId, eventName]);
}

/**
 * The value of storage `key` of `roomId` (`undefined` while absent, or before the room is joined)
 * and its setter: `set(value)` writes it, `set((current) => next)` updates it with a
 * compare-and-set that retries on conflict. Re-renders when that key changes. It does not join:
 * some `useRoom` of the provider does.
 */
export function useStorage(roomId, key) {
  const { rooms } = useRealtime("useStorage");
  const subscribe = useCallback((onChange) => rooms.use(roomId).watch(key, onChange), [rooms, roomId, key]);
  const value = useSyncExternalStore(subscribe, () => rooms.peek(roomId)?.value(key), serverValue);
  const set = useCallback(
    (next) => {
      const storage = rooms.peek(roomId)?.storage;
      if (!storage) return Promise.reject(rtmError("invalid_state", `not in room ${roomId}`));
      return typeof next === "function" ? storage.update(key, next).then((e) => e.version) : storage.set(key, next);
    },
    [rooms, roomId, key],
  );
  return [value, set];
}

/** The provider's `RealtimeClient` (for what the hooks do not cover, such as `emitWithAck`). */
export function useRealtimeClient() {
  return useRealtime("useRealtimeClient").client;
}
