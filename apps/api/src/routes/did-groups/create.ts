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
  DidGroupFilteredSchema,
} from "./schema.ts";

const route = createRoute({
  method: "post",
  operationId: "createDidGroup",
  path: "/did_groups",
  tags: ["DID Groups"],
  summary: "Create DID group",
  description: "Creates a DID group. No field is required; an empty object can be passed.",
  security: [{ basicAuth: [] }],
  request: { query: ObjectQuerySchema, body: jsonBodyOf(DidGroupInputSchema, "The DID group to create") },
  responses: { 200: ok(DidGroupFilteredSchema, "The created DID Group object"), ...errors(400, 401, 415, 422) },
});

export function registerCreate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const body = c.req.valid("json");
    checkReadOnly(body, { account_sid: accountSid }, DID_GROUP_READ_ONLY);
    const input = pickUpdatable(body, DID_GROUP_UPDATABLE, true) as DidGroupInput;
    const group = unwrap(await c.var.services.repos.didGroups.create(accountSid, input));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, group, DID_GROUP_FIELDS), 200);
  });
}
