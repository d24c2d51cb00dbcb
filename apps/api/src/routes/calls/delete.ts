import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";
import { isOwn, liveStore } from "../../lib/live.ts";
import { errors } from "../../lib/openapi.ts";
import { CallParams } from "./schema.ts";

const route = createRoute({
  method: "delete",
  operationId: "deleteCall",
  path: "/calls/{call_sid}",
  tags: ["Calls"],
  summary: "Drop call",
  description:
    "Not in the reference: hangs one caller up. The mixer node that owns the meeting sends the phone a BYE and removes the Call object (as `call.left` reports); the meeting goes on while others are in it.",
  security: [{ basicAuth: [] }],
  request: { params: CallParams },
  responses: { 204: { description: "Sent to the owning node (empty body)" }, ...errors(401, 404) },
});

export function registerDelete(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const store = liveStore(c);
    const sid = c.req.valid("param").call_sid;
    const call = (await store?.getCall(sid)) ?? null;
    if (!store || !call || !isOwn(c, call)) throw notFound("call");
    // The owner hangs up and leaves the meeting through its own path (exit tones, the
    // last caller ending the meeting, the events): the store is not changed from here.
    await store.control.sendToOwner({ type: "call_hangup", meetingSid: call.meeting_sid, callSid: sid });
    return c.body(null, 204);
  });
}
