import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerDids } from "./dids.ts";
import { registerEndpoints } from "./endpoints.ts";
import { registerPrefixes } from "./prefixes.ts";

/** `/core/v2`: the operator's provisioning routes (bearer ADMIN_TOKEN). */
export function coreRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerEndpoints(app);
  registerDids(app);
  registerPrefixes(app);
  return app;
}
