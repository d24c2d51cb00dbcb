import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { errors, ListQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { MEETING_ROOM_FIELDS, MeetingRoomPageSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "listMeetingRooms",
  path: "/meeting_rooms",
  tags: ["Meeting Rooms"],
  summary: "Get meeting rooms",
  description: "Returns meeting rooms matching the criteria in the request URL.",
  security: [{ basicAuth: [] }],
  request: { query: ListQuerySchema },
  responses: { 200: ok(MeetingRoomPageSchema, "A list of Meeting Room objects"), ...errors(400, 401) },
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => cachedJson(c, await listConfig(c, c.get("services").repos.meetingRooms, MEETING_ROOM_FIELDS)),
    { cache: "config" },
  );
}
