// The npm package rtm-sdk, installed from its `npm pack` tarball into node_modules, as each kind of
// web app gets it: built by Vite 5, Vite 8, webpack 5 (all with their default config), esbuild and Rollup,
// and loaded by a browser with no bundler at all. Each build is served by a tiny static server and
// opened in headless Chromium (Debian's), where it connects to the real rtm-server at
// RTM_SERVER_URL and joins a room (apps/page.js). scripts/test-package.sh runs this.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, problemsOf } from "./lib/chromium.mjs";
import { run } from "./lib/run.mjs";
import { serve as serveStatic } from "./lib/static-server.mjs";

const SERVER = process.env.RTM_SERVER_URL;
const WAIT = 20_000; // every wait on a page: fail, don't hang
const HERE = fileURLToPath(new URL(".", import.meta.url));
const APPS = join(HERE, "apps");
const NODE_MODULES = join(HERE, "node_modules");
const ESBUILD = process.env.ESBUILD ?? join(HERE, "../../tools/node_modules/.bin/esbuild");
const PACKAGE_WASM = fileURLToPath(import.meta.resolve("rtm-sdk/rtm_sdk_bg.wasm"));
const out = mkdtempSync(join(tmpdir(), "rtm-bundlers-"));

/** How each app is built, from its folder into `dir` (then served as "/"). */
const BUILDS = {
  // `vite build` with no vite.config: the app folder is the root, index.html its entry.
  vite5: async (dir) => run(APPS, process.execPath, [join(NODE_MODULES, "vite5/bin/vite.js"), "build", "vite", "--outDir", dir, "--emptyOutDir"]),
  vite8: async (dir) => run(APPS, process.execPath, [join(NODE_MODULES, "vite/bin/vite.js"), "build", "vite", "--outDir", dir, "--emptyOutDir"]),
  // webpack with no webpack.config.js: entry ./src/index.js, output main.js; the page loads it.
  webpack: async (dir) => {
    await run(join(APPS, "webpack"), process.execPath, [join(NODE_MODULES, "webpack-cli/bin/cli.js"), "--mode", "production", "--output-path", dir]);
    copyFileSync(join(APPS, "webpack/index.html"), join(dir, "index.html"));
  },
  // esbuild and Rollup keep `new URL("./rtm_sdk_bg.wasm", import.meta.url)` as it is: copy the
  // .wasm beside main.js.
  esbuild: async (dir) => {
    await run(join(APPS, "copied-wasm"), ESBUILD, ["main.js", "--bundle", "--format=esm", `--outfile=${join(dir, "main.js")}`]);
    copyWasmApp(dir);
  },
  rollup: async (dir) => {
    const rollup = join(NODE_MODULES, "rollup/dist/bin/rollup");
    await run(join(APPS, "copied-wasm"), process.execPath, [rollup, "main.js", "--format", "es", "--file", join(dir, "main.js"), "--plugin", "@rollup/plugin-node-resolve"]);
    copyWasmApp(dir);
  },
};

/** The package's .wasm and the page, beside a bundle that does not emit the .wasm itself. */
function copyWasmApp(dir) {
  copyFileSync(PACKAGE_WASM, join(dir, "rtm_sdk_bg.wasm"));
  copyFileSync(join(APPS, "copied-wasm/index.html"), join(dir, "index.html"));
}

const builds = new Map();
/** Builds an app once (later tests reuse it), into its own temp dir. */
function build(name) {
  if (!builds.has(name)) {
    const dir = join(out, name);
    mkdirSync(dir, { recursive: true });
    builds.set(name, BUILDS[name](dir).then(() => dir));
  }
  return builds.get(name);
}

const servers = [];
/** A static server of `dir`, stopped after the tests. */
async function serve(dir) {
  const server = await serveStatic(dir);
  servers.push(server);
  return server;
}

/** Every file under dir, relative to it. */
function files(dir) {
  return readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, f)).isFile());
}

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

let browser;
before(async () => {
  assert.ok(SERVER, "RTM_SERVER_URL must be set (scripts/test-package.sh sets it)");
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  if (!process.env.RTM_KEEP_BUILDS) rmSync(out, { recursive: true, force: true });
});

/** Opens `url` (a served app) in a fresh browser context, joined to `room` as `user`. */
async function open(url, room, user) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = problemsOf(page);
  const q = new URLSearchParams({ server: SERVER, room, user });
  await page.goto(`${url}?${q}`);
  const status = await page
    .waitForFunction(() => {
      const s = document.body?.dataset.status ?? "";
      return (s === "joined" || s.startsWith("error:")) && s;
    }, null, { timeout: WAIT })
    .then((h) => h.jsonValue(), () => page.evaluate(() => document.body?.dataset.status ?? "(no status)"));
  assert.equal(status, "joined", `${url}: the page did not join (${status}); console: ${problems.join(" | ")}`);
  return { context, page, problems };
}

/** Waits until the page shows exactly these members. */
async function waitForMembers(page, userIds) {
  const want = [...userIds].sort().join(",");
  await page
    .waitForFunction((w) => document.body.dataset.members === w, want, { timeout: WAIT })
    .catch(async () => {
      const have = await page.evaluate(() => document.body.dataset.members);
      assert.fail(`expected members ${want}, the page shows ${have}`);
    });
}

const room = (name) => `pkg-${name}-${Date.now()}`;

/** Builds the app, checks its output carries the package's .wasm, and joins a room from it. */
async function buildAndJoin(name) {
  const dir = await build(name);
  const wasm = files(dir).filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `${name}: one .wasm in the build output, found: ${files(dir).join(", ")}`);
  assert.equal(sha256(join(dir, wasm[0])), sha256(PACKAGE_WASM), `${name}: the emitted .wasm is the package's`);

  const { url, requests } = await serve(dir);
  const user = `${name}-user`;
  const { context, page, problems } = await open(url, room(name), user);
  await waitForMembers(page, [user]);
  assert.ok(requests.includes(`/${wasm[0].split(sep).join("/")}`), `${name}: the page fetched ${wasm[0]} (served: ${requests.join(", ")})`);
  assert.deepEqual(problems, [], `${name}: no console error`);
  await context.close();
}

for (const name of Object.keys(BUILDS)) {
  test(`built by ${name}, the page loads the WebAssembly, connects and joins`, { timeout: 90_000 }, () =>
    buildAndJoin(name));
}

test("with no bundler, a <script type=module> page imports the package's index.js by URL and joins", { timeout: 60_000 }, async () => {
  const { url, requests } = await serve(HERE);
  const { context, page, problems } = await open(`${url}/apps/plain/`, room("plain"), "plain-user");
  await waitForMembers(page, ["plain-user"]);
  assert.ok(requests.includes("/node_modules/rtm-sdk/rtm_sdk_bg.wasm"), `the page fetched the package's .wasm (served: ${requests.join(", ")})`);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a Vite 5 page and a webpack page in one room see each other, and see each other leave", { timeout: 120_000 }, async () => {
  const shared = room("vite5-webpack");
  const vite = await open((await serve(await build("vite5"))).url, shared, "vite-user");
  const webpack = await open((await serve(await build("webpack"))).url, shared, "webpack-user");
  await waitForMembers(vite.page, ["vite-user", "webpack-user"]);
  await waitForMembers(webpack.page, ["vite-user", "webpack-user"]);
  // Closing the tab leaves at once (pagehide): the other page's list shrinks.
  await webpack.page.close({ runBeforeUnload: true });
  await waitForMembers(vite.page, ["vite-user"]);
  assert.deepEqual([...vite.problems, ...webpack.problems], []);
  await vite.context.close();
  await webpack.context.close();
});
