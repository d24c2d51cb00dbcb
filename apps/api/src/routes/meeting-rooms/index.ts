import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "../../lib/body.ts";
import type { AppEnv } from "../../lib/context.ts";
import { registerCreate } from "./create.ts";
import { registerDelete } from "./delete.ts";
import { registerGet } from "./get.ts";
import { registerList } from "./list.ts";
import { registerResolvedAttributes } from "./resolved-attributes.ts";
import { registerWrites } from "./writes.ts";

/** `/meeting_rooms`: POST, list, get, PATCH, PUT, DELETE, and `resolved_attributes`. */
export function meetingRoomsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  registerCreate(app);
  registerList(app);
  registerGet(app);
  registerWrites(app);
  registerDelete(app);
  registerResolvedAttributes(app);
  return app;
}
