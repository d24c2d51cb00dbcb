import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerWrites } from "./writes.ts";

/** `/dids`: list, get, PATCH, PUT (numbers are assigned by the operator under /core/v2). */
export function didsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerList(app);
  registerGet(app);
  registerWrites(app);
  return app;
}
