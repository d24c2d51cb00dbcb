import type { MeetingRoomInput } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok, putBodyOf } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import {
  MEETING_ROOM_FIELDS,
  MEETING_ROOM_READ_ONLY,
  MEETING_ROOM_UPDATABLE,
  MeetingRoomInputSchema,
  MeetingRoomParams,
  MeetingRoomFilteredSchema,
} from "./schema.ts";

const route = createRoute({
  method: "put",
  operationId: "replaceMeetingRoom",
  path: "/meeting_rooms/{meeting_room_sid}",
  tags: ["Meeting Rooms"],
  summary: "Update meeting room (PUT)",
  description:
    "Replaces the meeting room. As the reference's PUT, the body is the entire object: access_codes, attributes, did_group_sid and name are all required (a missing one is a 422 naming it, and nothing changes).",
  security: [{ basicAuth: [] }],
  request: { params: MeetingRoomParams, query: ObjectQuerySchema, body: putBodyOf(MeetingRoomInputSchema, ["access_codes", "attributes", "did_group_sid", "name"], "MeetingRoomReplace") },
  responses: { 200: ok(MeetingRoomFilteredSchema, "The updated Meeting Room object"), ...errors(400, 401, 404, 409, 415, 422) },
});

export function registerReplace(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const sid = c.req.valid("param").meeting_room_sid;
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.meetingRooms.get(accountSid, sid)), MEETING_ROOM_READ_ONLY);
    const input = pickUpdatable(body, MEETING_ROOM_UPDATABLE, true) as MeetingRoomInput;
    const room = unwrap(await repos.meetingRooms.replace(accountSid, sid, input));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, room, MEETING_ROOM_FIELDS), 200);
  });
}
