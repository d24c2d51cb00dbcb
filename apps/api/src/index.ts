/**
 * @conf/api: the Conference v2 HTTP API as a Hono app. `createApp(deps)` builds it
 * without side effects; `src/main.ts` reads the environment and serves it.
 */
export { type AppDeps, CORS_EXPOSE_HEADERS, createApp, type Publisher } from "./app.ts";
export { type CredentialCache, createCredentialCache } from "./lib/auth.ts";
export type { AppEnv } from "./lib/context.ts";
export { type Env, parseEnv } from "./lib/env.ts";
export type { MetricsSource } from "./lib/metrics.ts";
export { eventLogLimits, generateAdminToken, type RunningApi, type StartApiOptions, startApi } from "./server.ts";
