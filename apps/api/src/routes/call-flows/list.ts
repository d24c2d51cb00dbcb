import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { CALL_FLOW_FIELDS, CallFlowPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listCallFlows",
  path: "/call_flows",
  tag: "Call Flows",
  summary: "Get call flows",
  description: "Returns call flows matching the criteria in the request URL.",
  page: CallFlowPageSchema,
  items: "Call Flow",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.callFlows, CALL_FLOW_FIELDS)),
    { cache: "config" },
  );
}
