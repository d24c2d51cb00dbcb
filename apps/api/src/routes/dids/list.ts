import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { DID_FIELDS, DidPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listDids",
  path: "/dids",
  tag: "DIDs",
  summary: "Get DIDs",
  description: "Returns DIDs matching the criteria in the request URL.",
  page: DidPageSchema,
  items: "DID",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(app, route, async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.dids, DID_FIELDS)), {
    cache: "config",
  });
}
