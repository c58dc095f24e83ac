// The demo page in real headless Chromium, against the server `make demo` started
// (scripts/test-demo.sh passes its URL as RTM_DEMO_URL). Its screenshot goes to a temporary
// file; `make screenshot` sets RTM_DEMO_SCREENSHOT to refresh README's docs/demo.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join as joinPath, resolve } from "node:path";
import { launchChromium, problemsOf } from "./lib/chromium.mjs";

const URL = process.env.RTM_DEMO_URL;
const SCREENSHOT = resolve(process.env.RTM_DEMO_SCREENSHOT ?? joinPath(tmpdir(), "rtm-demo.png"));
const WAIT = 15_000;
let browser;

before(async () => {
  assert.ok(URL, "RTM_DEMO_URL must be set");
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** A fresh browser (its own storage, so its own user) on the demo page. */
async function person(room) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = await context.newPage();
  const problems = problemsOf(page);
  await page.goto(`${URL}/?room=${encodeURIComponent(room)}`);
  await page.waitForFunction(() => window.rtmDemo?.ready === true, null, { timeout: WAIT });
  return { context, page, problems };
}

async function join(page, name) {
  await page.fill("#name", name);
  await page.click("#join-button");
  await page.waitForSelector("#room-view:not(.hidden)", { timeout: WAIT });
}

const member = (name) => `#members [data-name="${name}"]`;

test("the page loads its WebAssembly with no console error", async () => {
  const { context, page, problems } = await person("smoke");
  assert.equal(await page.title(), "rtm demo — presence and chat");
  assert.equal(await page.inputValue("#room"), "smoke", "the room comes from the URL");
  assert.ok((await page.inputValue("#name")).length > 0, "a name is prefilled");
  await join(page, "Smoke");
  await page.waitForSelector("#badge[data-state=connected]", { timeout: WAIT });
  await page.waitForSelector(member("Smoke"), { timeout: WAIT });
  assert.deepEqual(problems, []);
  await context.close();
});

test("two people see each other, their status and their chat, and see each other leave", async () => {
  const room = `e2e-${Date.now()}`;
  const alice = await person(room);
  const bob = await person(room);
  await join(alice.page, "Alice");
  await join(bob.page, "Bob");

  await alice.page.waitForSelector(member("Bob"), { timeout: WAIT });
  await bob.page.waitForSelector(member("Alice"), { timeout: WAIT });

  // Bob changes his status; Alice sees it.
  await bob.page.selectOption("#status", "busy");
  await bob.page.fill("#status-text", "in a meeting");
  await bob.page.click("#status-form button");
  await alice.page.waitForSelector(`${member("Bob")}[data-status="busy"]`, { timeout: WAIT });
  assert.match(await alice.page.textContent(member("Bob")), /in a meeting/);

  // Alice chats; Bob sees it, and Alice sees it as her own.
  await alice.page.fill("#chat-input", "hello Bob");
  await alice.page.press("#chat-input", "Enter");
  await bob.page.waitForSelector('#messages .message:has-text("hello Bob")', { timeout: WAIT });
  await alice.page.waitForSelector('#messages .message.mine:has-text("hello Bob")', { timeout: WAIT });
  await bob.page.fill("#chat-input", "hi Alice, one sec");
  await bob.page.press("#chat-input", "Enter");
  await alice.page.waitForSelector('#messages .message:not(.mine):has-text("hi Alice")', { timeout: WAIT });
  // The raw events are in the log.
  assert.match(await alice.page.textContent("#events"), /"type":"update"/);

  // The room board is room storage: Bob sets the topic, Alice sees it; both cheer at once and
  // both see every cheer counted (compare-and-set increments).
  await bob.page.fill("#topic-input", "Sprint review");
  await bob.page.click("#topic-form button");
  await alice.page.waitForSelector('#topic:has-text("Sprint review")', { timeout: WAIT });
  await Promise.all([alice.page.click("#cheer"), bob.page.click("#cheer"), alice.page.click("#cheer")]);
  for (const { page } of [alice, bob]) {
    await page.waitForSelector('#cheers:text-is("3")', { timeout: WAIT });
  }

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await alice.page.screenshot({ path: SCREENSHOT });

  // Bob closes his tab: he leaves Alice's list within seconds.
  await bob.page.close({ runBeforeUnload: true });
  await alice.page.waitForSelector(member("Bob"), { state: "detached", timeout: 5_000 });
  assert.deepEqual(alice.problems, []);
  assert.deepEqual(bob.problems, []);
  await alice.context.close();
  await bob.context.close();
});
