import type { DidGroupInput } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok, putBodyOf } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import {
  DID_GROUP_FIELDS,
  DID_GROUP_READ_ONLY,
  DID_GROUP_UPDATABLE,
  DidGroupInputSchema,
  DidGroupParams,
  DidGroupFilteredSchema,
} from "./schema.ts";

const route = createRoute({
  method: "put",
  operationId: "replaceDidGroup",
  path: "/did_groups/{did_group_sid}",
  tags: ["DID Groups"],
  summary: "Update DID group (PUT)",
  description:
    "Replaces the DID group. As the reference's PUT, the body is the entire object: attributes, call_flow_sid and name are all required (a missing one is a 422 naming it, and nothing changes).",
  security: [{ basicAuth: [] }],
  request: { params: DidGroupParams, query: ObjectQuerySchema, body: putBodyOf(DidGroupInputSchema, ["attributes", "call_flow_sid", "name"], "DidGroupReplace") },
  responses: { 200: ok(DidGroupFilteredSchema, "The updated DID Group object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerReplace(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const sid = c.req.valid("param").did_group_sid;
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.didGroups.get(accountSid, sid)), DID_GROUP_READ_ONLY);
    const input = pickUpdatable(body, DID_GROUP_UPDATABLE, true) as DidGroupInput;
    const group = unwrap(await repos.didGroups.replace(accountSid, sid, input));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, group, DID_GROUP_FIELDS), 200);
  });
}
