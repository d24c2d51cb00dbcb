import { registerListRoute } from "../../lib/list-route.ts";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { CORE_DEFAULT_LIMIT } from "../../lib/pagination.ts";
import { listConfig } from "../../lib/listing.ts";
import { errors, jsonBodyOf, CoreListQuerySchema, ok } from "../../lib/openapi.ts";
import { DID_FIELDS, DidPageSchema, DidSchema } from "../dids/schema.ts";
import { AssignDidSchema, DidParams } from "./schema.ts";

const tags = ["Operator: DIDs"];
const security = [{ adminToken: [] }];

const assign = createRoute({
  method: "post",
  operationId: "coreAssignDid",
  path: "/dids",
  tags,
  security,
  summary: "Assign a phone number",
  description:
    "Assigns a phone number to a conference endpoint's account; it then shows in its /conference/v2/dids. The formats and country are derived from the number. A number already assigned is a 409.",
  request: { body: jsonBodyOf(AssignDidSchema, "The number and the endpoint") },
  responses: { 200: ok(DidSchema, "The DID object"), ...errors(400, 401, 403, 409, 415, 422) },
});

const list = createRoute({
  method: "get",
  operationId: "coreListDids",
  path: "/dids",
  tags,
  security,
  summary: "Get the DIDs of every account",
  request: { query: CoreListQuerySchema },
  responses: { 200: ok(DidPageSchema, "A list of DID objects"), ...errors(400, 401, 403) },
});

const unassign = createRoute({
  method: "delete",
  operationId: "coreUnassignDid",
  path: "/dids/{did_sid}",
  tags,
  security,
  summary: "Remove a phone number",
  description: "Removes the number from its account.",
  request: { params: DidParams },
  responses: { 204: { description: "Removed (empty body)" }, ...errors(401, 403, 404) },
});

/** `/core/v2/dids`: assign, list, remove. */
export function registerDids(app: OpenAPIHono<AppEnv>): void {
  app.openapi(assign, async (c) => {
    const did = unwrap(await c.var.services.repos.dids.assign(c.req.valid("json")));
    await c.var.services.publish({ kind: "account", accountSid: did.account_sid });
    return c.json(did, 200);
  });
  registerListRoute(app, list, async (c) => {
    const repo = c.var.services.repos.dids;
    const all = { fields: repo.fields, list: repo.listAll };
    return c.json(await listConfig(c, all, DID_FIELDS, { unscoped: true, defaultLimit: CORE_DEFAULT_LIMIT }), 200);
  });
  app.openapi(unassign, async (c) => {
    const { repos } = c.var.services;
    const did = unwrap(await repos.dids.find(c.req.valid("param").did_sid));
    unwrap(await repos.dids.unassign(did.did_sid));
    await c.var.services.publish({ kind: "account", accountSid: did.account_sid });
    return c.body(null, 204);
  });
}
