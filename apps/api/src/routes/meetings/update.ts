import type { ControlMessage, MeetingPatch, ParticipantMuted } from "@conf/session-store";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { isOwn, liveStore, toBoolean } from "../../lib/live.ts";
import { errors, jsonBodyOf, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { checkReadOnly } from "../../lib/patch.ts";
import { MEETING_FIELDS, MEETING_READ_ONLY, MeetingParams, MeetingPatchSchema, MeetingFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "patch",
  operationId: "updateMeeting",
  path: "/meetings/{meeting_sid}",
  tags: ["Meetings"],
  summary: "Update meeting",
  description:
    "Puts roles on hold (`on_hold`) or changes `participant_muted`; not in the reference: locks or unlocks the meeting (`locked`). The change is stored and sent to every mixer node that mixes the meeting (its owner, and the nodes a meeting too big for one spilled over to).",
  security: [{ basicAuth: [] }],
  request: { params: MeetingParams, query: ObjectQuerySchema, body: jsonBodyOf(MeetingPatchSchema, "The fields to change") },
  responses: { 200: ok(MeetingFilteredSchema, "The updated Meeting object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const store = liveStore(c);
    const sid = c.req.valid("param").meeting_sid;
    const current = (await store?.getMeeting(sid)) ?? null;
    if (!store || !current || !isOwn(c, current)) throw notFound("meeting");
    const body = c.req.valid("json");
    checkReadOnly(body, current, MEETING_READ_ONLY);
    const patch: MeetingPatch = {};
    if (body.on_hold !== undefined) patch.on_hold = body.on_hold;
    if (body.participant_muted !== undefined) patch.participant_muted = String(body.participant_muted) as ParticipantMuted;
    if (body.locked !== undefined) patch.locked = toBoolean(body.locked);
    const meeting = await store.updateMeeting(sid, patch);
    // The last caller may have left between the read and the write.
    if (!meeting) throw notFound("meeting");
    const messages: ControlMessage[] = [];
    if (patch.on_hold !== undefined) messages.push({ type: "meeting_on_hold", meetingSid: sid, on_hold: meeting.on_hold });
    if (patch.participant_muted !== undefined) {
      messages.push({ type: "meeting_participant_muted", meetingSid: sid, participant_muted: meeting.participant_muted });
    }
    if (patch.locked !== undefined) messages.push({ type: "meeting_lock", meetingSid: sid, locked: meeting.locked });
    for (const m of messages) await store.control.sendToMeeting(m);
    return c.json(selectOne(c, meeting, MEETING_FIELDS), 200);
  });
}
