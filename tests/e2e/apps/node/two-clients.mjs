// Two Node clients in one room: Bob joins and sees Alice, Alice sees Bob join, Bob's updateState
// reaches Alice as an "update", Bob's leave as a "leave"; then both disconnect, and nothing is left
// to keep the process alive.
//
// node.test.mjs imports twoClients() and passes the ws package as options.WebSocket. As a script,
//   node --experimental-websocket two-clients.mjs http://127.0.0.1:PORT        (the global WebSocket)
//   node two-clients.mjs http://127.0.0.1:PORT ws                               (the ws package)
// it prints "ok ..." and exits by itself with 0, or prints the error and exits with 1.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { RealtimeClient } from "rtm-sdk";

const WAIT = 10_000;

/** Resolves with the first event that matches, or rejects after WAIT ms. */
async function waitFor(events, match, what) {
  for (const deadline = Date.now() + WAIT; Date.now() < deadline; ) {
    const found = events.find(match);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
}

const userIds = (channel) => channel.members().map((m) => m.userId).sort();

export async function twoClients(baseUrl, options = {}) {
  const roomId = `node-${process.pid}-${Date.now()}`;
  const alice = new RealtimeClient({ baseUrl, ...options });
  const bob = new RealtimeClient({ baseUrl, ...options });
  try {
    await alice.connect();
    await bob.connect();
    assert.equal(alice.state, "connected");

    const a = await alice.joinRoom({ roomId, userId: "alice", state: { status: "online" } });
    const aliceSaw = [];
    a.channel.on("presenceEvent", (e) => aliceSaw.push(e));
    const b = await bob.joinRoom({ roomId, userId: "bob", state: { status: "online" } });
    assert.deepEqual(b.response.snapshot.map((m) => m.userId).sort(), ["alice", "bob"]);
    assert.ok(b.response.snapshot.some((m) => m.connId === b.response.self.connId));
    assert.deepEqual(userIds(b.channel), ["alice", "bob"], "Bob sees Alice");

    await waitFor(aliceSaw, (e) => e.type === "join" && e.userId === "bob", "Alice to see Bob join");
    assert.deepEqual(userIds(a.channel), ["alice", "bob"], "Alice sees Bob");

    await b.channel.updateState({ status: "away" });
    const update = await waitFor(aliceSaw, (e) => e.type === "update" && e.userId === "bob", "Bob's update");
    assert.deepEqual(update.state, { status: "away" });
    assert.equal(update.roomId, roomId);
    assert.equal(update.connId, b.response.self.connId);

    await b.channel.leave();
    await waitFor(aliceSaw, (e) => e.type === "leave" && e.userId === "bob", "Bob's leave");
    assert.deepEqual(userIds(a.channel), ["alice"], "Bob is gone from Alice's members");

    await bob.disconnect();
    await alice.disconnect();
    assert.equal(alice.state, "disconnected");
    return aliceSaw.map((e) => `${e.type}:${e.userId}`);
  } finally {
    await Promise.allSettled([alice.disconnect(), bob.disconnect()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [baseUrl, transport] = process.argv.slice(2);
  const options = transport === "ws" ? { WebSocket: (await import("ws")).WebSocket } : {};
  twoClients(baseUrl, options).then(
    (events) => console.log(`ok ${events.join(" ")}`),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
