// One connection attempt's WebSocket: asks the auth provider first, then opens, and reports
// what happens. Always asynchronous, so nothing is reported from inside the call that opened it.

/**
 * Opens transport `id` to `url`. `options` are the client's (`authProvider`, `WebSocket`);
 * `report` gets `("opened", auth)`, `("frame", text)` and `("closed", reason)`.
 */
export class Transport {
  #socket = null;
  #closed = false;

  constructor(id, url, options, report) {
    this.id = id;
    Promise.resolve()
      .then(() => options.authProvider?.())
      .then(
        (auth) => this.#open(url, options.WebSocket ?? globalThis.WebSocket, auth, report),
        (error) => this.#fail(report, `auth provider failed: ${error?.message ?? error}`),
      );
  }

  #open(url, WebSocketClass, auth, report) {
    if (this.#closed) return;
    if (typeof WebSocketClass !== "function") {
      return this.#fail(report, "no WebSocket here: pass options.WebSocket (for example the ws package)");
    }
    let socket;
    try {
      socket = new WebSocketClass(url);
    } catch (error) {
      return this.#fail(report, error?.message ?? String(error));
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => report("opened", auth);
    socket.onmessage = (event) => {
      if (typeof event.data === "string") report("frame", event.data);
    };
    // An error is always followed by a close event, which reports it.
    socket.onclose = (event) => report("closed", `connection closed (code ${event.code})`);
  }

  #fail(report, reason) {
    if (!this.#closed) report("closed", reason);
  }

  send(frame) {
    // A failed send is followed by the socket's close event.
    try {
      this.#socket?.send(frame);
    } catch {}
  }

  /** Closes as a network failure would: the close is still reported (a testing aid). */
  drop() {
    try {
      this.#socket?.close();
    } catch {}
  }

  /** Closes without reporting anything more. */
  close() {
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.onerror = () => {};
      try {
        socket.close();
      } catch {}
    }
  }
}
