import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { routeGroup } from "../../lib/route-group.ts";
import { registerDelete } from "./delete.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerUpdate } from "./update.ts";

/** `/meetings`: list, get, PATCH, DELETE (live objects from the session store). */
export function meetingsRoutes(): OpenAPIHono<AppEnv> {
  return routeGroup(registerList, registerGet, registerUpdate, registerDelete);
}
