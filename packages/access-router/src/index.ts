/**
 * @conf/access-router: from an inbound call (dialed number, caller, entered code) to a
 * decision (refuse, join a meeting, or prompt for a code), reading config through a
 * port and caching lookups with explicit invalidation. Pure: no I/O of its own.
 */
export type * from "./port.ts";
export * from "./decision.ts";
export * from "./invalidation.ts";
export * from "./memory-config.ts";
export * from "./normalize.ts";
export * from "./router.ts";
