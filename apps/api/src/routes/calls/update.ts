import { type CallPatch, type ControlMessage, isLobbyCall } from "@conf/session-store";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { conflict, item, notFound } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { isOwn, liveStore, toBoolean } from "../../lib/live.ts";
import { errors, jsonBodyOf, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { checkReadOnly } from "../../lib/patch.ts";
import { CALL_FIELDS, CALL_READ_ONLY, CallParams, CallPatchSchema, CallFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "patch",
  operationId: "updateCall",
  path: "/calls/{call_sid}",
  tags: ["Calls"],
  summary: "Update call",
  description:
    "Mutes or unmutes, holds or releases, or renames a call. The change is stored and sent to the mixer nodes of the meeting; the one that mixes the call applies it. A call still at the access-code prompt (`meeting_sid` null) has no meeting to be muted, held or named in: changing it is a 409 until it joins.",
  security: [{ basicAuth: [] }],
  request: { params: CallParams, query: ObjectQuerySchema, body: jsonBodyOf(CallPatchSchema, "The fields to change") },
  responses: { 200: ok(CallFilteredSchema, "The updated Call object"), ...errors(400, 401, 404, 409, 415, 422) },
});

const LOBBY_CONFLICT =
  "the call is at the access-code prompt, in no meeting yet (meeting_sid is null); try again once it has joined";

export function registerUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const store = liveStore(c);
    const sid = c.req.valid("param").call_sid;
    const current = (await store?.getCall(sid)) ?? null;
    if (!store || !current || !isOwn(c, current)) throw notFound("call");
    const body = c.req.valid("json");
    checkReadOnly(body, current, CALL_READ_ONLY);
    if (isLobbyCall(current)) {
      // Nothing to apply it to yet (the caller hears only its prompts), and the join
      // writes the call afresh: refused rather than lost, retried once it joins.
      const asked = (["muted", "on_hold", "name"] as const).filter((f) => body[f] !== undefined);
      if (asked.length > 0) throw conflict(asked.map((f) => item(f, LOBBY_CONFLICT)));
      return c.json(selectOne(c, current, CALL_FIELDS), 200);
    }
    const patch: CallPatch = {};
    if (body.muted !== undefined) patch.muted = toBoolean(body.muted);
    if (body.on_hold !== undefined) patch.on_hold = toBoolean(body.on_hold);
    if (body.name !== undefined) patch.name = body.name;
    const call = await store.updateCall(sid, patch);
    // The caller may have hung up between the read and the write.
    if (!call) throw notFound("call");
    const messages: ControlMessage[] = [];
    if (patch.muted !== undefined)
      messages.push({ type: "call_mute", meetingSid: call.meeting_sid, callSid: sid, muted: call.muted });
    if (patch.on_hold !== undefined)
      messages.push({ type: "call_hold", meetingSid: call.meeting_sid, callSid: sid, on_hold: call.on_hold });
    // To every node of the meeting: the one that mixes the call applies it. In a meeting
    // mixed by several nodes that is not always the owner, and after a failover the
    // call's record may still name the node that died.
    for (const m of messages) await store.control.sendToMeeting(m);
    return c.json(selectOne(c, call, CALL_FIELDS), 200);
  });
}
