import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { routeGroup } from "../../lib/route-group.ts";
import { registerCreate } from "./create.ts";
import { registerDelete } from "./delete.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerWrites } from "./writes.ts";

/** `/did_groups`: POST, list, get, PATCH, PUT, DELETE. */
export function didGroupsRoutes(): OpenAPIHono<AppEnv> {
  return routeGroup(registerCreate, registerList, registerGet, registerWrites, registerDelete);
}
