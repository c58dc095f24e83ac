// A React 18 app on rtm-sdk/react, under <StrictMode> (react.test.mjs builds it for development,
// where StrictMode mounts, unmounts and remounts every effect). `window.rtm.mount([{ key, userId,
// second, counter }])` renders one <RealtimeProvider> per entry, each a user of the room ?room= on
// the server ?server= (and of a second room, with `second`; with `counter`, a shared counter in
// the room's storage). Each user's <section id={userId}> (and
// <aside id="{userId}-second">) shows what its hooks return in data attributes; `window.rtm`
// records what the DOM cannot show (see below).
import { StrictMode, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { RealtimeClient } from "rtm-sdk";
import { RealtimeProvider, useConnectionState, useRealtimeClient, useRoom, useRoomEvent, useStorage } from "rtm-sdk/react";

const params = new URLSearchParams(location.search);
const SERVER = params.get("server");
const ROOM = params.get("room");
const SECOND = `${ROOM}-second`;

const rtm = (window.rtm = {
  mount: null, // set once the app is mounted
  act: {}, // userId → { updateState, emit, leave, drop } of that user's hooks and client; "userId:counter" → { bump, set }
  seen: {}, // userId (userId@second) → the presence events it saw in the room, "join:bob"
  acks: {}, // userId → heartbeat acks it got (which re-render nothing)
  history: {}, // userId → its room statuses and connection states, in order
  effects: 0, // runs of the app's mount effect (2 under StrictMode in development)
  sockets: { opened: 0, closed: 0 }, // the WebSockets of every client
  calls: { connect: 0, disconnect: 0 }, // of every client
});

for (const method of Object.keys(rtm.calls)) {
  const original = RealtimeClient.prototype[method];
  RealtimeClient.prototype[method] = function (...args) {
    rtm.calls[method]++;
    return original.apply(this, args);
  };
}

const log = (record, userId, entry) => void (record[userId] ??= []).push(entry);

/** The browser's WebSocket, counted. */
class CountingWebSocket extends WebSocket {
  constructor(url) {
    super(url);
    rtm.sockets.opened++;
    this.addEventListener("close", () => rtm.sockets.closed++);
  }
}

const OPTIONS = { baseUrl: SERVER, WebSocket: CountingWebSocket, presence: { heartbeatIntervalMs: 300 } };

function User({ userId }) {
  const room = useRoom(ROOM, { userId, initialState: { status: "online" } });
  const connection = useConnectionState();
  const client = useRealtimeClient();
  const [messages, setMessages] = useState([]);
  const renders = useRef(0);
  renders.current++;

  useRoomEvent(ROOM, "chat:message", (m) => setMessages((list) => [...list, `${m.userId}:${m.message}`]));
  useRoomEvent(ROOM, "presenceEvent", (e) => log(rtm.seen, userId, `${e.type}:${e.userId}`));
  useRoomEvent(ROOM, "heartbeatAck", () => (rtm.acks[userId] = (rtm.acks[userId] ?? 0) + 1));
  useEffect(() => log(rtm.history, userId, `room:${room.status}`), [userId, room.status]);
  useEffect(() => {
    const { state, attempt, retryInMs } = connection;
    log(rtm.history, userId, state === "reconnecting" ? `connection:${state}:${attempt}:${typeof retryInMs}` : `connection:${state}`);
  }, [userId, connection]);
  useEffect(() => {
    rtm.act[userId] = { updateState: room.updateState, emit: room.emit, leave: room.leave, drop: () => client.__dropTransport() };
  }, [userId, room, client]);

  const members = [...room.members].sort((a, b) => a.userId.localeCompare(b.userId));
  return (
    <section
      id={userId}
      data-status={room.status}
      data-connection={connection.state}
      data-members={members.map((m) => `${m.userId}:${m.state.status}`).join(",")}
      data-self={room.self?.connId ?? ""}
      data-error={room.error?.code ?? ""}
      data-renders={renders.current}
      data-messages={messages.join("|")}
    >
      <SameRoom userId={userId} members={room.members} />
    </section>
  );
}

/** A second component on the same room and user: it shares the join, and the members array. */
function SameRoom({ userId, members }) {
  const room = useRoom(ROOM, { userId });
  return <output data-count={room.members.length} data-shared={String(room.members === members)} />;
}

/** A `"count"` member of the room: how many are there, no members. */
function Audience({ userId }) {
  const { status, members, count, complete } = useRoom(ROOM, { userId, presence: "count" });
  return (
    <section id={userId} data-status={status} data-count={String(count)} data-members={String(members.length)} data-complete={String(complete)} />
  );
}

/** The room's storage key `counter` (useStorage): <output id="{userId}-counter" data-value>. */
function Counter({ userId }) {
  const [count, setCount] = useStorage(ROOM, "counter");
  useEffect(() => {
    rtm.act[`${userId}:counter`] = { bump: () => setCount((n = 0) => n + 1), set: setCount };
  }, [userId, setCount]);
  return <output id={`${userId}-counter`} data-value={String(count)} />;
}

/** The user in the second room. */
function Second({ userId }) {
  const { status, members } = useRoom(SECOND, { userId });
  useRoomEvent(SECOND, "presenceEvent", (e) => log(rtm.seen, `${userId}@second`, `${e.type}:${e.userId}`));
  const ids = members.map((m) => m.userId).sort();
  return <aside id={`${userId}-second`} data-status={status} data-members={ids.join(",")} />;
}

function App() {
  const [entries, setEntries] = useState([]);
  useEffect(() => {
    rtm.effects++;
    rtm.mount = setEntries;
  }, []);
  return entries.map(({ key, userId, second, audience, counter }) => (
    <RealtimeProvider key={key} options={OPTIONS}>
      {audience ? <Audience userId={userId} /> : <User userId={userId} />}
      {second && <Second userId={userId} />}
      {counter && <Counter userId={userId} />}
    </RealtimeProvider>
  ));
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
