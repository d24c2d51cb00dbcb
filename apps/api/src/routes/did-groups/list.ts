import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { DID_GROUP_FIELDS, DidGroupPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listDidGroups",
  path: "/did_groups",
  tag: "DID Groups",
  summary: "Get DID groups",
  description: "Returns DID groups matching the criteria in the request URL.",
  page: DidGroupPageSchema,
  items: "DID Group",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.didGroups, DID_GROUP_FIELDS)),
    { cache: "config" },
  );
}
