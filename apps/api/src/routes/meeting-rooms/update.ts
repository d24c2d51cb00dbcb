import type { MeetingRoomPatch } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ok, PatchQuerySchema } from "../../lib/openapi.ts";
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
  method: "patch",
  operationId: "updateMeetingRoom",
  path: "/meeting_rooms/{meeting_room_sid}",
  tags: ["Meeting Rooms"],
  summary: "Update meeting room (PATCH)",
  description:
    "Updates the given fields of the meeting room. `access_codes` is replaced whole. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
  security: [{ basicAuth: [] }],
  request: {
    params: MeetingRoomParams,
    query: PatchQuerySchema,
    body: jsonBodyOf(MeetingRoomInputSchema, "The fields to change"),
  },
  responses: { 200: ok(MeetingRoomFilteredSchema, "The updated Meeting Room object"), ...errors(400, 401, 404, 409, 415, 422) },
});

export function registerUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const sid = c.req.valid("param").meeting_room_sid;
    const mode = c.req.valid("query").nested_objects ?? "merge";
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.meetingRooms.get(accountSid, sid)), MEETING_ROOM_READ_ONLY);
    const patch = pickUpdatable(body, MEETING_ROOM_UPDATABLE, mode === "replace") as MeetingRoomPatch;
    const room = unwrap(await repos.meetingRooms.update(accountSid, sid, patch, { nestedObjects: mode }));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, room, MEETING_ROOM_FIELDS), 200);
  });
}
