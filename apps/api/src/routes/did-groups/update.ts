import type { DidGroupPatch } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ok, PatchQuerySchema } from "../../lib/openapi.ts";
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
  method: "patch",
  operationId: "updateDidGroup",
  path: "/did_groups/{did_group_sid}",
  tags: ["DID Groups"],
  summary: "Update DID group (PATCH)",
  description:
    "Updates the given fields of the DID group. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
  security: [{ basicAuth: [] }],
  request: { params: DidGroupParams, query: PatchQuerySchema, body: jsonBodyOf(DidGroupInputSchema, "The fields to change") },
  responses: { 200: ok(DidGroupFilteredSchema, "The updated DID Group object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const sid = c.req.valid("param").did_group_sid;
    const mode = c.req.valid("query").nested_objects ?? "merge";
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.didGroups.get(accountSid, sid)), DID_GROUP_READ_ONLY);
    const patch = pickUpdatable(body, DID_GROUP_UPDATABLE, mode === "replace") as DidGroupPatch;
    const group = unwrap(await repos.didGroups.update(accountSid, sid, patch, { nestedObjects: mode }));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, group, DID_GROUP_FIELDS), 200);
  });
}
