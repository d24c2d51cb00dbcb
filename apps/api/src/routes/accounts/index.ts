import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { routeGroup } from "../../lib/route-group.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerWhoami } from "./whoami.ts";
import { registerWrites } from "./writes.ts";

/** `/accounts`: list, whoami, get, PATCH, PUT. */
export function accountsRoutes(): OpenAPIHono<AppEnv> {
  return routeGroup(
    registerList,
    // Before `/accounts/{account_sid}`, which would otherwise take "whoami" for a SID.
    registerWhoami,
    registerGet,
    registerWrites,
  );
}
