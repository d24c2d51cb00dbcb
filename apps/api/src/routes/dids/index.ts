import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { routeGroup } from "../../lib/route-group.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerWrites } from "./writes.ts";

/** `/dids`: list, get, PATCH, PUT (numbers are assigned by the operator under /core/v2). */
export function didsRoutes(): OpenAPIHono<AppEnv> {
  return routeGroup(registerList, registerGet, registerWrites);
}
