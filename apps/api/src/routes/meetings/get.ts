import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { isOwn, liveStore } from "../../lib/live.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, durationValidUntil, readThrough } from "../../lib/read-cache.ts";
import { MEETING_FIELDS, MeetingParams, MeetingFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getMeeting",
  path: "/meetings/{meeting_sid}",
  tags: ["Meetings"],
  summary: "Get meeting by SID",
  description: "Returns a meeting, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("live")] as const,
  request: { params: MeetingParams, query: ObjectQuerySchema },
  responses: { 200: ok(MeetingFilteredSchema, "The Meeting object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const meeting = (await liveStore(c)?.getMeeting(c.req.valid("param").meeting_sid)) ?? null;
    if (!meeting || !isOwn(c, meeting)) throw notFound("meeting");
    return cachedJson(c, selectOne(c, meeting, MEETING_FIELDS), durationValidUntil([meeting]));
  });
}
