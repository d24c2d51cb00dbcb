import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { routeGroup } from "../../lib/route-group.ts";
import { registerDids } from "./dids.ts";
import { registerEndpoints } from "./endpoints.ts";
import { registerPrefixes } from "./prefixes.ts";

/** `/core/v2`: the operator's provisioning routes (bearer ADMIN_TOKEN). */
export function coreRoutes(): OpenAPIHono<AppEnv> {
  return routeGroup(registerEndpoints, registerDids, registerPrefixes);
}
