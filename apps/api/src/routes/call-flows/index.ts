import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";

/** `/call_flows`: list and get (read only). */
export function callFlowsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerList(app);
  registerGet(app);
  return app;
}
