"use client";
// rtm-sdk/react: React bindings (React ≥ 18, an optional peer dependency, never bundled). This
// source imports the browser entry (./index.js); the build also makes `react-node.js`, the same
// code on the Node entry (./node.js), for server rendering. See react.d.ts for the API.
export { RealtimeProvider } from "./react/provider.js";
export { useConnectionState, useRealtimeClient, useRoom, useRoomEvent, useStorage } from "./react/hooks.js";
