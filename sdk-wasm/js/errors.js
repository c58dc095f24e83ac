// Errors as the SDK rejects with them: an `Error` with a `code` (see `RtmError` in index.d.ts).

/** An `Error` with `message` and a machine-readable `code`. */
export function rtmError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

/** The `{ code, message }` the WebAssembly reports, as an `Error`. */
export function fromReport({ code, message }) {
  return rtmError(code, message);
}

/** A value as JSON text for the WebAssembly; what JSON cannot hold is an `invalid_argument`. */
export function jsonText(value) {
  let text;
  try {
    text = JSON.stringify(value ?? null);
  } catch (cause) {
    throw rtmError("invalid_argument", `the value cannot be sent as JSON: ${cause.message}`);
  }
  if (text === undefined) throw rtmError("invalid_argument", "the value cannot be sent as JSON");
  return text;
}

/** A plain object's JSON text, for states and patches. */
export function objectText(value, what) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw rtmError("invalid_argument", `${what} must be an object`);
  }
  return jsonText(value);
}
