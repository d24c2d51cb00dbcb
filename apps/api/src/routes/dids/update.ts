import type { DidPatch } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ok, PatchQuerySchema } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import { DID_FIELDS, DID_READ_ONLY, DID_UPDATABLE, DidInputSchema, DidParams, DidFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "patch",
  operationId: "updateDid",
  path: "/dids/{did_sid}",
  tags: ["DIDs"],
  summary: "Update DID (PATCH)",
  description:
    "Updates the given fields of the DID. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
  security: [{ basicAuth: [] }],
  request: { params: DidParams, query: PatchQuerySchema, body: jsonBodyOf(DidInputSchema, "The fields to change") },
  responses: { 200: ok(DidFilteredSchema, "The updated DID object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const sid = c.req.valid("param").did_sid;
    const mode = c.req.valid("query").nested_objects ?? "merge";
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.dids.get(accountSid, sid)), DID_READ_ONLY);
    const patch = pickUpdatable(body, DID_UPDATABLE, mode === "replace") as DidPatch;
    const did = unwrap(await repos.dids.update(accountSid, sid, patch, { nestedObjects: mode }));
    await c.var.services.publish({ kind: "account", accountSid });
    return c.json(selectOne(c, did, DID_FIELDS), 200);
  });
}
