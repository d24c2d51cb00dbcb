import type { MeetingRoomInput } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import {
  MEETING_ROOM_FIELDS,
  MEETING_ROOM_READ_ONLY,
  MEETING_ROOM_UPDATABLE,
  MeetingRoomInputSchema,
  MeetingRoomFilteredSchema,
} from "./schema.ts";

const route = createRoute({
  method: "post",
  operationId: "createMeetingRoom",
  path: "/meeting_rooms",
  tags: ["Meeting Rooms"],
  summary: "Create meeting room",
  description: "Creates a meeting room. No field is required; an empty object can be passed.",
  security: [{ basicAuth: [] }],
  request: { query: ObjectQuerySchema, body: jsonBodyOf(MeetingRoomInputSchema, "The meeting room to create") },
  responses: { 200: ok(MeetingRoomFilteredSchema, "The created Meeting Room object"), ...errors(400, 401, 409, 415, 422) },
});

export function registerCreate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const body = c.req.valid("json");
    checkReadOnly(body, { account_sid: accountSid }, MEETING_ROOM_READ_ONLY);
    const input = pickUpdatable(body, MEETING_ROOM_UPDATABLE, true) as MeetingRoomInput;
    const room = unwrap(await c.var.services.repos.meetingRooms.create(accountSid, input));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, room, MEETING_ROOM_FIELDS), 200);
  });
}
