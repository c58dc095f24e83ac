// rtm-sdk/react from the package's `npm pack` tarball: a Vite + React 18 app (apps/react), built for
// development so that <StrictMode> mounts, unmounts and remounts every effect, served and opened in
// headless Chromium (Debian's) against the real rtm-server at RTM_SERVER_URL. The app shows what
// the hooks return in data attributes and is driven through `window.rtm` (see apps/react/main.jsx).
// scripts/test-package.sh runs this.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, problemsOf } from "./lib/chromium.mjs";
import { run } from "./lib/run.mjs";
import { serve } from "./lib/static-server.mjs";

const SERVER = process.env.RTM_SERVER_URL;
const WAIT = 20_000; // every wait on a page: fail, don't hang
const HERE = fileURLToPath(new URL(".", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "rtm-react-"));
let browser;
let site;

before(async () => {
  assert.ok(SERVER, "RTM_SERVER_URL must be set (scripts/test-package.sh sets it)");
  await run(join(HERE, "apps"), process.execPath, [join(HERE, "node_modules/vite/bin/vite.js"), "build", "react", "--outDir", out, "--emptyOutDir"], {
    NODE_ENV: "development",
  });
  site = await serve(out);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  site?.close();
  rmSync(out, { recursive: true, force: true });
});

const room = (name) => `react-${name}-${Date.now()}`;

/** Opens the app on `roomId` in a fresh browser context. */
async function open(roomId) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = problemsOf(page);
  await page.goto(`${site.url}/?${new URLSearchParams({ server: SERVER, room: roomId })}`);
  await page.waitForFunction(() => window.rtm?.mount, null, { timeout: WAIT });
  return {
    page,
    problems,
    /** Renders one provider per `{ key, userId, second }`. */
    mount: (...entries) => page.evaluate((e) => window.rtm.mount(e), entries),
    /** `window.rtm[name]`. */
    rtm: (name) => page.evaluate((n) => window.rtm[n], name),
    close: () => context.close(),
  };
}

/** Waits until `#userId` shows `value` in its data-`name`. */
async function waitFor(page, userId, name, value) {
  const shows = () => page.evaluate(([id, n]) => document.getElementById(id)?.dataset[n], [userId, name]);
  await page
    .waitForFunction(([id, n, v]) => document.getElementById(id)?.dataset[n] === v, [userId, name, value], { timeout: WAIT })
    .catch(async () => assert.fail(`#${userId} data-${name}: expected ${value}, the page shows ${await shows()}`));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("two providers (two users) in one page see each other, a state change, an event and a leave; under StrictMode each connects and joins once", { timeout: 60_000 }, async () => {
  const roomId = room("two");
  const app = await open(roomId);
  const { page } = app;
  assert.equal(await app.rtm("effects"), 2, "a development build, where StrictMode runs each effect twice");

  await app.mount({ key: "a", userId: "alice" });
  await waitFor(page, "alice", "status", "joined");
  await waitFor(page, "alice", "members", "alice:online");
  await app.mount({ key: "a", userId: "alice" }, { key: "b", userId: "bob" });
  for (const user of ["alice", "bob"]) {
    await waitFor(page, user, "members", "alice:online,bob:online");
    await waitFor(page, user, "connection", "connected");
    // Its second component on the same room shares the join and the very members array.
    assert.deepEqual(await page.evaluate((u) => ({ ...document.querySelector(`#${u} output`).dataset }), user), { count: "2", shared: "true" });
  }
  assert.notEqual(await page.evaluate(() => document.getElementById("bob").dataset.self), "");
  // Each provider connected once, on one WebSocket, and bob joined once: alice saw one join (a
  // second join would be a leave and a join, or a refused join).
  assert.deepEqual(await app.rtm("calls"), { connect: 2, disconnect: 0 });
  assert.deepEqual(await app.rtm("sockets"), { opened: 2, closed: 0 });
  assert.deepEqual((await app.rtm("seen")).alice, ["join:bob"]);

  await page.evaluate(() => window.rtm.act.bob.updateState({ status: "away" }));
  await waitFor(page, "alice", "members", "alice:online,bob:away");
  await waitFor(page, "bob", "members", "alice:online,bob:away");

  // A component mounting while its client is connected joins once too (StrictMode remounts it).
  await app.mount({ key: "a", userId: "alice", second: true }, { key: "b", userId: "bob" });
  await waitFor(page, "alice-second", "members", "alice");
  await app.mount({ key: "a", userId: "alice", second: true }, { key: "b", userId: "bob", second: true });
  await waitFor(page, "alice-second", "members", "alice,bob");
  await waitFor(page, "bob-second", "members", "alice,bob");
  assert.deepEqual((await app.rtm("seen"))["alice@second"], ["join:bob"]);

  // Nothing changes for a while (heartbeats every 300 ms are acknowledged): no re-render.
  const renders = () => page.evaluate(() => ["alice", "bob"].map((u) => document.getElementById(u).dataset.renders));
  const before = { renders: await renders(), acks: await app.rtm("acks") };
  await sleep(1_000);
  assert.deepEqual(await renders(), before.renders, "no re-render while nothing changed");
  const acks = await app.rtm("acks");
  const more = ["alice", "bob"].every((u) => acks[u] > (before.acks[u] ?? 0));
  assert.ok(more, `heartbeats went on: ${JSON.stringify([before.acks, acks])}`);

  // An event of the app's own, with an ack, reaches the other user's useRoomEvent.
  const ack = await page.evaluate((r) => window.rtm.act.bob.emit("chat:send", { roomId: r, message: "hi" }, { ack: true }), roomId);
  assert.equal(ack.ok, true);
  await waitFor(page, "alice", "messages", "bob:hi");

  // Unmounting bob's provider leaves the rooms and closes its connection.
  await app.mount({ key: "a", userId: "alice", second: true });
  await waitFor(page, "alice", "members", "alice:online");
  await waitFor(page, "alice-second", "members", "alice");
  const seen = await app.rtm("seen");
  assert.deepEqual(seen.alice, ["join:bob", "update:bob", "leave:bob"]);
  assert.deepEqual(seen["alice@second"], ["join:bob", "leave:bob"]);
  await page.waitForFunction(() => window.rtm.sockets.closed === 1, null, { timeout: WAIT });
  assert.deepEqual(await app.rtm("sockets"), { opened: 2, closed: 1 });
  assert.deepEqual(await app.rtm("calls"), { connect: 2, disconnect: 1 });
  assert.deepEqual(app.problems, []);
  await app.close();
});

test("a new userId leaves and joins as the new user on the same connection; leave() leaves", { timeout: 60_000 }, async () => {
  const app = await open(room("user"));
  const { page } = app;
  await app.mount({ key: "a", userId: "alice" }, { key: "b", userId: "bob" });
  await waitFor(page, "alice", "members", "alice:online,bob:online");

  await app.mount({ key: "a", userId: "alice" }, { key: "b", userId: "carol" });
  await waitFor(page, "alice", "members", "alice:online,carol:online");
  await waitFor(page, "carol", "members", "alice:online,carol:online");
  await waitFor(page, "carol", "status", "joined");
  const seen = (await app.rtm("seen")).alice;
  assert.deepEqual(seen.slice(-2), ["leave:bob", "join:carol"], `alice saw: ${seen}`);

  await page.evaluate(() => window.rtm.act.carol.leave());
  await waitFor(page, "carol", "status", "left");
  await waitFor(page, "carol", "members", "");
  await waitFor(page, "alice", "members", "alice:online");
  assert.deepEqual(await app.rtm("calls"), { connect: 2, disconnect: 0 }, "the provider kept its connection");
  assert.deepEqual(await app.rtm("sockets"), { opened: 2, closed: 0 });
  assert.deepEqual(app.problems, []);
  await app.close();
});

test("useRoom(room, { presence: \"count\" }) gives the room's count and no members", { timeout: 60_000 }, async () => {
  const app = await open(room("count"));
  const { page } = app;
  await app.mount({ key: "a", userId: "alice" }, { key: "f", userId: "fan", audience: true });
  await waitFor(page, "fan", "status", "joined");
  await waitFor(page, "fan", "count", "2");
  await waitFor(page, "alice", "members", "alice:online,fan:undefined");
  await app.mount({ key: "a", userId: "alice" }, { key: "b", userId: "bob" }, { key: "f", userId: "fan", audience: true });
  await waitFor(page, "fan", "count", "3");
  await app.mount({ key: "f", userId: "fan", audience: true });
  await waitFor(page, "fan", "count", "1");
  await waitFor(page, "fan", "members", "0");
  assert.deepEqual(app.problems, []);
  await app.close();
});

test("a lost connection: useConnectionState goes reconnecting (attempt, retry) and back; useRoom rejoins", { timeout: 60_000 }, async () => {
  const app = await open(room("reconnect"));
  const { page } = app;
  await app.mount({ key: "a", userId: "alice" });
  await waitFor(page, "alice", "status", "joined");
  const self = await page.evaluate(() => document.getElementById("alice").dataset.self);

  await page.evaluate(() => window.rtm.act.alice.drop());
  await page.waitForFunction(() => window.rtm.history.alice.includes("room:reconnecting"), null, { timeout: WAIT });
  await waitFor(page, "alice", "status", "joined");
  await waitFor(page, "alice", "connection", "connected");
  await waitFor(page, "alice", "members", "alice:online");

  const history = (await app.rtm("history")).alice;
  const at = (entry, from) => history.indexOf(entry, from);
  const reconnecting = at("connection:reconnecting:1:number");
  assert.ok(reconnecting > at("connection:connected"), `connected, then reconnecting (attempt 1, a retry delay): ${history}`);
  assert.ok(at("connection:connected", reconnecting) > reconnecting, `then connected again: ${history}`);
  const lost = at("room:reconnecting");
  assert.ok(lost > at("room:joined") && at("room:joined", lost) > lost, `the room: joined, reconnecting, joined: ${history}`);
  assert.equal(await page.evaluate(() => document.getElementById("alice").dataset.self), self, "the entry resumed: the same connection id");
  assert.deepEqual(app.problems, []);
  await app.close();
});

test("useStorage shows a key of the room's storage to every user and follows it; a function of the value is never lost to another's", { timeout: 60_000 }, async () => {
  const app = await open(room("storage"));
  const { page } = app;
  await app.mount({ key: "a", userId: "alice", counter: true }, { key: "b", userId: "bob", counter: true });
  for (const user of ["alice", "bob"]) await waitFor(page, user, "status", "joined");
  await waitFor(page, "alice-counter", "value", "undefined");
  // Five bumps from each user at once: each read-modify-write retries until it lands on the latest.
  const versions = await page.evaluate(() =>
    Promise.all(Array.from({ length: 5 }, () => ["alice", "bob"].map((u) => window.rtm.act[`${u}:counter`].bump())).flat()),
  );
  assert.deepEqual([...versions].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "each bump wrote its own version");
  for (const user of ["alice", "bob"]) await waitFor(page, `${user}-counter`, "value", "10");
  // A plain value, from the other side.
  await page.evaluate(() => window.rtm.act["bob:counter"].set(42));
  for (const user of ["alice", "bob"]) await waitFor(page, `${user}-counter`, "value", "42");
  assert.deepEqual(app.problems, []);
  await app.close();
});
