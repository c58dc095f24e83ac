// Built by react.test.mjs with NODE_ENV=development, so that <StrictMode> double-invokes effects.
import react from "@vitejs/plugin-react";

export default { plugins: [react()] };
