import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { errors, ListQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { CALL_FLOW_FIELDS, CallFlowPageSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "listCallFlows",
  path: "/call_flows",
  tags: ["Call Flows"],
  summary: "Get call flows",
  description: "Returns call flows matching the criteria in the request URL.",
  security: [{ basicAuth: [] }],
  request: { query: ListQuerySchema },
  responses: { 200: ok(CallFlowPageSchema, "A list of Call Flow objects"), ...errors(400, 401) },
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.callFlows, CALL_FLOW_FIELDS)),
    { cache: "config" },
  );
}
