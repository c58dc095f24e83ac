// Listeners by event name, as `on(name, handler)` and `off(name, handler)` register them.

export class Listeners {
  #byName = new Map();

  on(name, handler) {
    if (typeof handler !== "function") throw new TypeError("a listener must be a function");
    const list = this.#byName.get(name) ?? [];
    this.#byName.set(name, [...list, handler]);
  }

  /** Removes every registration of `handler` for `name`. */
  off(name, handler) {
    const list = (this.#byName.get(name) ?? []).filter((h) => h !== handler);
    if (list.length) this.#byName.set(name, list);
    else this.#byName.delete(name);
  }

  /** Calls each handler of `name`; one that throws does not stop the others. */
  emit(name, value) {
    for (const handler of this.#byName.get(name) ?? []) {
      try {
        handler(value);
      } catch (error) {
        // Reported as a DOM event listener's error would be, without stopping the SDK.
        if (typeof globalThis.reportError === "function") globalThis.reportError(error);
        else console.error(error);
      }
    }
  }
}
