import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { isOwn, liveStore } from "../../lib/live.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, durationValidUntil, readThrough } from "../../lib/read-cache.ts";
import { CALL_FIELDS, CallParams, CallFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getCall",
  path: "/calls/{call_sid}",
  tags: ["Calls"],
  summary: "Get call by SID",
  description: "Returns a call, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("live")] as const,
  request: { params: CallParams, query: ObjectQuerySchema },
  responses: { 200: ok(CallFilteredSchema, "The Call object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const call = (await liveStore(c)?.getCall(c.req.valid("param").call_sid)) ?? null;
    if (!call || !isOwn(c, call)) throw notFound("call");
    return cachedJson(c, selectOne(c, call, CALL_FIELDS), durationValidUntil([call]));
  });
}
