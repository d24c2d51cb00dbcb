import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, readThrough } from "../../lib/read-cache.ts";
import { DID_FIELDS, DidParams, DidFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getDid",
  path: "/dids/{did_sid}",
  tags: ["DIDs"],
  summary: "Get DID by SID",
  description: "Returns a DID, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("config")] as const,
  request: { params: DidParams, query: ObjectQuerySchema },
  responses: { 200: ok(DidFilteredSchema, "The DID object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const did = unwrap(await c.var.services.repos.dids.get(c.var.principal.accountSid, c.req.valid("param").did_sid));
    return cachedJson(c, selectOne(c, did, DID_FIELDS));
  });
}
