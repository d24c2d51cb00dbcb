import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, readThrough } from "../../lib/read-cache.ts";
import { DID_GROUP_FIELDS, DidGroupParams, DidGroupFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getDidGroup",
  path: "/did_groups/{did_group_sid}",
  tags: ["DID Groups"],
  summary: "Get DID group by SID",
  description: "Returns a DID group, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("config")] as const,
  request: { params: DidGroupParams, query: ObjectQuerySchema },
  responses: { 200: ok(DidGroupFilteredSchema, "The DID Group object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const sid = c.req.valid("param").did_group_sid;
    const group = unwrap(await c.var.services.repos.didGroups.get(c.var.principal.accountSid, sid));
    return cachedJson(c, selectOne(c, group, DID_GROUP_FIELDS));
  });
}
