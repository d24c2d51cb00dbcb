import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";
import { isOwn, liveStore } from "../../lib/live.ts";
import { errors } from "../../lib/openapi.ts";
import { MeetingParams } from "./schema.ts";

const route = createRoute({
  method: "delete",
  operationId: "deleteMeeting",
  path: "/meetings/{meeting_sid}",
  tags: ["Meetings"],
  summary: "Delete meeting",
  description:
    "Ends the meeting: every mixer node that mixes it (its owner, and any it spilled over to) hangs its callers up, and the Meeting and its Call objects are deleted.",
  security: [{ basicAuth: [] }],
  request: { params: MeetingParams },
  responses: { 204: { description: "Ended (empty body)" }, ...errors(401, 404) },
});

export function registerDelete(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const store = liveStore(c);
    const sid = c.req.valid("param").meeting_sid;
    const info = (await store?.getMeetingInfo(sid)) ?? null;
    if (!store || !info || !isOwn(c, info.meeting)) throw notFound("meeting");
    // First tell the nodes mixing it to hang everyone up (they know the calls' media),
    // then delete the objects here, so they are gone when we answer even if a node is down.
    await store.control.sendToMeeting({ type: "meeting_end", meetingSid: sid });
    await store.endMeeting(sid);
    return c.body(null, 204);
  });
}
