import type { DidInput } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok, putBodyOf } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import { DID_FIELDS, DID_READ_ONLY, DID_UPDATABLE, DidInputSchema, DidParams, DidFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "put",
  operationId: "replaceDid",
  path: "/dids/{did_sid}",
  tags: ["DIDs"],
  summary: "Update DID (PUT)",
  description:
    "Replaces the DID. As the reference's PUT, the body is the entire object: attributes, call_flow_sid and did_group_sid are all required (a missing one is a 422 naming it, and nothing changes).",
  security: [{ basicAuth: [] }],
  request: { params: DidParams, query: ObjectQuerySchema, body: putBodyOf(DidInputSchema, ["attributes", "call_flow_sid", "did_group_sid"], "DidReplace") },
  responses: { 200: ok(DidFilteredSchema, "The updated DID object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerReplace(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const sid = c.req.valid("param").did_sid;
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.dids.get(accountSid, sid)), DID_READ_ONLY);
    const did = unwrap(await repos.dids.replace(accountSid, sid, pickUpdatable(body, DID_UPDATABLE, true) as DidInput));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, did, DID_FIELDS), 200);
  });
}
