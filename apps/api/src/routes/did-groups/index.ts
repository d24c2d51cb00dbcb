import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerCreate } from "./create.ts";
import { registerDelete } from "./delete.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerWrites } from "./writes.ts";

/** `/did_groups`: POST, list, get, PATCH, PUT, DELETE. */
export function didGroupsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerCreate(app);
  registerList(app);
  registerGet(app);
  registerWrites(app);
  registerDelete(app);
  return app;
}
