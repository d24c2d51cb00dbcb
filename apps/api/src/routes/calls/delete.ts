import { isLobbyCall } from "@conf/session-store";
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
  summary: "Hang up call",
  description:
    "Not in the reference. Hangs the call up: the mixer node that carries it (for a call still at the access-code prompt, the node that answered it) sends BYE, and the Call object is deleted.",
  security: [{ basicAuth: [] }],
  request: { params: CallParams },
  responses: { 204: { description: "Hung up (empty body)" }, ...errors(401, 404) },
});

export function registerDelete(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const store = liveStore(c);
    const sid = c.req.valid("param").call_sid;
    const info = (await store?.getCallInfo(sid)) ?? null;
    if (!store || !info || !isOwn(c, info.call)) throw notFound("call");
    const lobby = isLobbyCall(info.call);
    // First tell the node holding the call to hang it up (it has the dialog and the
    // media), then delete the object here, so it is gone when we answer even if that
    // node is down. The node's own removal then finds nothing.
    await store.control.send(info.nodeId, {
      type: "call_hangup",
      meetingSid: lobby ? "" : (info.call.meeting_sid ?? ""),
      callSid: sid,
    });
    if (lobby) await store.leaveLobby(sid);
    else await store.leave(sid);
    return c.body(null, 204);
  });
}
