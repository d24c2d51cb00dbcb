import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerDelete } from "./delete.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerUpdate } from "./update.ts";

/** `/calls`: list, get, PATCH, DELETE (live objects from the session store; DELETE is not in the reference). */
export function callsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerList(app);
  registerGet(app);
  registerUpdate(app);
  registerDelete(app);
  return app;
}
