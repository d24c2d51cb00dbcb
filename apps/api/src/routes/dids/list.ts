import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { errors, ListQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { DID_FIELDS, DidPageSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "listDids",
  path: "/dids",
  tags: ["DIDs"],
  summary: "Get DIDs",
  description: "Returns DIDs matching the criteria in the request URL.",
  security: [{ basicAuth: [] }],
  request: { query: ListQuerySchema },
  responses: { 200: ok(DidPageSchema, "A list of DID objects"), ...errors(400, 401) },
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(app, route, async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.dids, DID_FIELDS)), {
    cache: "config",
  });
}
