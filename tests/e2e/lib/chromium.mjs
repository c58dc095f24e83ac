// Debian's Chromium, headless, as every browser test here launches it.
import { chromium } from "playwright-core";

/** Launches headless Chromium (`CHROMIUM` overrides /usr/bin/chromium). */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** Collects a page's console errors and uncaught exceptions into the returned array. */
export function problemsOf(page) {
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(String(e)));
  return problems;
}
