import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, readThrough } from "../../lib/read-cache.ts";
import { MEETING_ROOM_FIELDS, MeetingRoomParams, MeetingRoomFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getMeetingRoom",
  path: "/meeting_rooms/{meeting_room_sid}",
  tags: ["Meeting Rooms"],
  summary: "Get meeting room by SID",
  description: "Returns a meeting room, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("config")] as const,
  request: { params: MeetingRoomParams, query: ObjectQuerySchema },
  responses: { 200: ok(MeetingRoomFilteredSchema, "The Meeting Room object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const sid = c.req.valid("param").meeting_room_sid;
    const room = unwrap(await c.var.services.repos.meetingRooms.get(c.var.principal.accountSid, sid));
    return cachedJson(c, selectOne(c, room, MEETING_ROOM_FIELDS));
  });
}
