export * from "./attributes.ts";
export * from "./call-flows.ts";
export * from "./resolve.ts";
export * from "./roles.ts";
export * from "./validate.ts";
