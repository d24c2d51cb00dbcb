import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerWhoami } from "./whoami.ts";
import { registerWrites } from "./writes.ts";

/** `/accounts`: list, whoami, get, PATCH, PUT. */
export function accountsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerList(app);
  // Before `/accounts/{account_sid}`, which would otherwise take "whoami" for a SID.
  registerWhoami(app);
  registerGet(app);
  registerWrites(app);
  return app;
}
