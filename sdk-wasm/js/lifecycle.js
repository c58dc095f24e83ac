// The page's lifecycle, in a browser window: on `pagehide` the client leaves its rooms and
// closes, so others see it go at once; when the page is visible again its deadlines are checked
// at once, since a background tab's timers may have been throttled. Elsewhere (Node, workers),
// nothing.

/** Watches the page for a client; returns the function that stops watching. */
export function watchPage({ onHide, onVisible }) {
  const win = globalThis.window;
  const doc = globalThis.document;
  if (!win?.addEventListener || !doc?.addEventListener) return () => {};
  const visibility = () => {
    if (!doc.hidden) onVisible();
  };
  win.addEventListener("pagehide", onHide);
  doc.addEventListener("visibilitychange", visibility);
  return () => {
    win.removeEventListener("pagehide", onHide);
    doc.removeEventListener("visibilitychange", visibility);
  };
}
