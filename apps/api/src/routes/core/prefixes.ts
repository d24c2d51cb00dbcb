import { registerListRoute } from "../../lib/list-route.ts";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { CORE_DEFAULT_LIMIT } from "../../lib/pagination.ts";
import { listConfig, selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, CoreListQuerySchema, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { AddPrefixSchema, PREFIX_FIELDS, PrefixFilteredSchema, PrefixPageSchema, PrefixParams, PrefixSchema } from "./schema.ts";

const tags = ["Operator: trunk prefixes"];
const security = [{ adminToken: [] }];

const add = createRoute({
  method: "post",
  operationId: "coreAddPrefix",
  path: "/prefixes",
  tags,
  security,
  summary: "Add a trunk prefix",
  description:
    "Routes SIP calls whose dialed number starts with the prefix to the endpoint's account (only the account's call flow applies). A prefix already routed is a 409.",
  request: { body: jsonBodyOf(AddPrefixSchema, "The prefix and the endpoint") },
  responses: { 200: ok(PrefixSchema, "The prefix"), ...errors(400, 401, 403, 409, 415, 422) },
});

const list = createRoute({
  method: "get",
  operationId: "coreListPrefixes",
  path: "/prefixes",
  tags,
  security,
  summary: "Get trunk prefixes",
  request: { query: CoreListQuerySchema },
  responses: { 200: ok(PrefixPageSchema, "A list of prefixes"), ...errors(400, 401, 403) },
});

const get = createRoute({
  method: "get",
  operationId: "coreGetPrefix",
  path: "/prefixes/{prefix_sid}",
  tags,
  security,
  summary: "Get trunk prefix by SID",
  request: { params: PrefixParams, query: ObjectQuerySchema },
  responses: { 200: ok(PrefixFilteredSchema, "The prefix"), ...errors(400, 401, 403, 404) },
});

const remove = createRoute({
  method: "delete",
  operationId: "coreDeletePrefix",
  path: "/prefixes/{prefix_sid}",
  tags,
  security,
  summary: "Remove a trunk prefix",
  request: { params: PrefixParams },
  responses: { 204: { description: "Removed (empty body)" }, ...errors(401, 403, 404) },
});

/** `/core/v2/prefixes`: add, list, get, remove. */
export function registerPrefixes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(add, async (c) => {
    const prefix = unwrap(await c.var.services.repos.trunkPrefixes.add(c.req.valid("json")));
    await c.var.services.publish({ kind: "account", accountSid: prefix.account_sid });
    return c.json(prefix, 200);
  });
  registerListRoute(app, list, async (c) =>
    c.json(
      await listConfig(c, c.var.services.repos.trunkPrefixes, PREFIX_FIELDS, {
        unscoped: true,
        defaultLimit: CORE_DEFAULT_LIMIT,
      }),
      200,
    ),
  );
  app.openapi(get, async (c) => {
    const prefix = unwrap(await c.var.services.repos.trunkPrefixes.get(c.req.valid("param").prefix_sid));
    return c.json(selectOne(c, prefix, PREFIX_FIELDS), 200);
  });
  app.openapi(remove, async (c) => {
    const { repos } = c.var.services;
    const prefix = unwrap(await repos.trunkPrefixes.get(c.req.valid("param").prefix_sid));
    unwrap(await repos.trunkPrefixes.remove(prefix.prefix_sid));
    await c.var.services.publish({ kind: "account", accountSid: prefix.account_sid });
    return c.body(null, 204);
  });
}
