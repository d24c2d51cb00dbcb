export * from "./client.ts";
export * from "./config-reader.ts";
export * from "./phone.ts";
export * from "./repos/index.ts";
export * from "./schema/index.ts";
