// Browser-side helpers for sdk.test.mjs: the package as a page imports it (installed from its tarball, served from node_modules),
// clients with fast reconnects, listeners that can be awaited (bounded), and assertions.
export { RealtimeClient, init } from "/node_modules/rtm-sdk/index.js";
import { RealtimeClient } from "/node_modules/rtm-sdk/index.js";

export const WAIT_MS = 10_000;

export const unique = (prefix) => `${prefix}-${Math.random().toString(36).slice(2)}`;

/** A connected client of `url` that reconnects fast. */
export async function client(url, extra = {}) {
  const c = new RealtimeClient({ baseUrl: url, reconnection: { initialDelayMs: 50, maxDelayMs: 300 }, ...extra });
  await c.connect();
  return c;
}

/** Records `event` of `target`; `next(what, pred)` waits for the next value matching `pred`. */
export function listen(target, event) {
  const seen = [];
  const waiters = new Set();
  let read = 0;
  target.on(event, (value) => {
    seen.push(value);
    for (const waiter of [...waiters]) waiter();
  });
  return {
    seen,
    next(what, pred = () => true) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${WAIT_MS} ms (saw ${JSON.stringify(seen)})`));
        }, WAIT_MS);
        function check() {
          while (read < seen.length) {
            const value = seen[read++];
            if (pred(value)) {
              clearTimeout(timer);
              waiters.delete(check);
              resolve(value);
              return;
            }
          }
        }
        waiters.add(check);
        check();
      });
    },
  };
}

/** A presence event of `type` by `user`. */
export const presenceOf = (type, user) => (e) => e.type === type && e.userId === user;

/** The error a promise rejects with; throws if it resolves. */
export function rejection(promise) {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error) => error,
  );
}

export function eq(actual, expected, what) {
  if (!Object.is(actual, expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export function ok(condition, what) {
  if (!condition) throw new Error(what);
}
