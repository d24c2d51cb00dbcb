import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { errors } from "../../lib/openapi.ts";
import { MeetingRoomParams } from "./schema.ts";

const route = createRoute({
  method: "delete",
  operationId: "deleteMeetingRoom",
  path: "/meeting_rooms/{meeting_room_sid}",
  tags: ["Meeting Rooms"],
  summary: "Delete meeting room",
  description: "Deletes a meeting room and its access codes, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  request: { params: MeetingRoomParams },
  responses: { 204: { description: "Deleted (empty body)" }, ...errors(401, 404) },
});

export function registerDelete(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    unwrap(await c.var.services.repos.meetingRooms.delete(accountSid, c.req.valid("param").meeting_room_sid));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.body(null, 204);
  });
}
