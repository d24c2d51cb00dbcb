import type { DidGroupInput } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import {
  DID_GROUP_FIELDS,
  DID_GROUP_READ_ONLY,
  DID_GROUP_UPDATABLE,
  DidGroupInputSchema,
  DidGroupParams,
  DidGroupSchema,
} from "./schema.ts";

const route = createRoute({
  method: "put",
  path: "/did_groups/{did_group_sid}",
  tags: ["DID Groups"],
  summary: "Update DID group (PUT)",
  description: "Replaces the DID group's updatable fields: those left out go back to their defaults (name `N/A`, no call flow, no attributes).",
  security: [{ basicAuth: [] }],
  request: { params: DidGroupParams, query: ObjectQuerySchema, body: jsonBodyOf(DidGroupInputSchema, "The whole object") },
  responses: { 200: ok(DidGroupSchema, "The updated DID Group object"), ...errors(400, 401, 404, 415, 422) },
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
