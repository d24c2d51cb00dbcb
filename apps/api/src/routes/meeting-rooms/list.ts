import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { MEETING_ROOM_FIELDS, MeetingRoomPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listMeetingRooms",
  path: "/meeting_rooms",
  tag: "Meeting Rooms",
  summary: "Get meeting rooms",
  description: "Returns meeting rooms matching the criteria in the request URL.",
  page: MeetingRoomPageSchema,
  items: "Meeting Room",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(
    app,
    route,
    async (c) => cachedJson(c, await listConfig(c, c.get("services").repos.meetingRooms, MEETING_ROOM_FIELDS)),
    { cache: "config" },
  );
}
