import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, readThrough } from "../../lib/read-cache.ts";
import { CALL_FLOW_FIELDS, CallFlowParams, CallFlowFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getCallFlow",
  path: "/call_flows/{call_flow_sid}",
  tags: ["Call Flows"],
  summary: "Get call flow by SID",
  description: "Returns a call flow, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("config")] as const,
  request: { params: CallFlowParams, query: ObjectQuerySchema },
  responses: { 200: ok(CallFlowFilteredSchema, "The Call Flow object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const flow = unwrap(await c.var.services.repos.callFlows.get(c.req.valid("param").call_flow_sid));
    return cachedJson(c, selectOne(c, flow, CALL_FLOW_FIELDS));
  });
}
