// rtm-sdk/react's types with an app's own state type: this must compile under `tsc --strict`
// (each @ts-expect-error must be an error).
import {
  RealtimeClient,
  type ConnectionState,
  type PresenceChannel,
  type RtmError,
  type StorageChange,
  type StorageConflict,
  type StorageEntry,
} from "rtm-sdk";
import {
  RealtimeProvider,
  useConnectionState,
  useRealtimeClient,
  useRoom,
  useRoomEvent,
  useStorage,
  type RoomMember,
  type RoomStatus,
} from "rtm-sdk/react";

/** An interface (no index signature) as the state type. */
interface Cursor {
  status: "online" | "away";
  x: number;
  y: number;
}

function Cursors() {
  const room = useRoom<Cursor>("canvas", { userId: "ada", initialState: { status: "online", x: 0, y: 0 } });
  const first: RoomMember<Cursor> | undefined = room.members[0];
  const x: number | undefined = first?.state.x;
  const status: "online" | "away" | undefined = room.connections[0]?.state.status;
  const tabs: number | undefined = first?.connections[0]?.state.y;
  // @ts-expect-error: not a key of Cursor
  first?.state.z;
  // @ts-expect-error: the members are read-only (the same array until it changes)
  room.members.push(first!);
  const updated: Promise<void> = room.updateState({ x: 1 });
  // @ts-expect-error: a Cursor's x is a number
  room.updateState({ x: "1" });
  const ack: Promise<{ ok: boolean }> = room.emit<{ ok: boolean }>("chat:send", { roomId: "canvas", message: "hi" }, { ack: true, timeoutMs: 5000 });
  const sent: void = room.emit("cursor:move", { x });
  const left: Promise<void> = room.leave();
  const roomStatus: RoomStatus = room.status;
  const error: RtmError | null = room.error;
  const connId: string | undefined = room.self?.connId;

  const { state, reason, attempt, retryInMs } = useConnectionState();
  const connection: ConnectionState = state;
  const wait: number | null = retryInMs;
  useRoomEvent<{ userId: string; message: string }>("canvas", "chat:message", (m) => m.message.toUpperCase());
  useRoomEvent("canvas", "cursor:move", (payload) => payload);
  const client: RealtimeClient = useRealtimeClient();

  void [status, tabs, updated, ack, sent, left, roomStatus, error, connId, connection, reason, attempt, wait, client];
  return <p>{x}</p>;
}

/** The state type inferred from `initialState`. */
function Typing() {
  const { members, updateState } = useRoom("chat", { userId: "ada", initialState: { typing: false } });
  const typing: boolean | undefined = members[0]?.state.typing;
  // @ts-expect-error: typing is a boolean
  updateState({ typing: "yes" });
  return <p>{String(typing)}</p>;
}

/** A storage key with its type; set with a value or a function of the current one. */
function Slides() {
  const [slide, setSlide] = useStorage<number>("deck", "slide");
  const current: number | undefined = slide;
  const written: Promise<number> = setSlide((n = 0) => n + 1);
  setSlide(3);
  // @ts-expect-error: a slide is a number
  setSlide("3");
  // @ts-expect-error: the function gets a number (or undefined)
  setSlide((n: string) => 1);
  void [current, written];
  return <p>{slide}</p>;
}

/** The channel's storage, typed per call. */
export async function votes(channel: PresenceChannel): Promise<number> {
  const now: number | undefined = channel.storage.get<number>("votes");
  const all: Record<string, StorageEntry> = channel.storage.entries();
  const version: number = await channel.storage.set("votes", 0, { ifVersion: 0 });
  const deleted: boolean = await channel.storage.delete("old", { ifVersion: 3 });
  // @ts-expect-error: ifVersion is a number
  channel.storage.set("votes", 0, { ifVersion: "0" });
  channel.on("storageChanged", (change: StorageChange) => change.rev);
  channel.on("storageLoaded", () => channel.storage.entries());
  try {
    const written: StorageEntry<number> = await channel.storage.update<number>("votes", (n = 0) => n + 1);
    return written.value;
  } catch (error) {
    if ((error as RtmError).code === "conflict") return (error as StorageConflict).current.version;
    throw error;
  } finally {
    void [now, all, version, deleted];
  }
}

/** No state type: any JSON object. */
function Untyped() {
  const { members } = useRoom("chat", { userId: "ada" });
  const value: unknown = members[0]?.state.anything;
  // @ts-expect-error: userId is required
  useRoom("chat", {});
  return <p>{String(value)}</p>;
}

export function App({ client }: { client: RealtimeClient }) {
  return (
    <>
      <RealtimeProvider options={{ baseUrl: "http://localhost:3000", presence: { throttleMs: 50 } }}>
        <Cursors />
        <Typing />
        <Slides />
      </RealtimeProvider>
      <RealtimeProvider client={client}>
        <Untyped />
      </RealtimeProvider>
      {/* @ts-expect-error: options or client, not both */}
      <RealtimeProvider options={{ baseUrl: "http://localhost:3000" }} client={client}>
        <Untyped />
      </RealtimeProvider>
      {/* @ts-expect-error: options or client is required */}
      <RealtimeProvider>
        <Untyped />
      </RealtimeProvider>
    </>
  );
}
