import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { routeGroup } from "../../lib/route-group.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";

/** `/call_flows`: list and get (read only). */
export function callFlowsRoutes(): OpenAPIHono<AppEnv> {
  return routeGroup(registerList, registerGet);
}
