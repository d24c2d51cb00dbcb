export * from "./accounts.ts";
export * from "./call-flows.ts";
export * from "./did-groups.ts";
export * from "./dids.ts";
export * from "./endpoints.ts";
export * from "./meeting-rooms.ts";
export * from "./trunk-prefixes.ts";
export * from "./webhooks.ts";
