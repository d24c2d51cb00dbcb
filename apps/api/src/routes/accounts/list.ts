import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { errors, ListQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { ACCOUNT_FIELDS, AccountPageSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "listAccounts",
  path: "/accounts",
  tags: ["Accounts"],
  summary: "Get accounts",
  description: "Returns accounts matching the criteria in the request URL (an account sees only itself).",
  security: [{ basicAuth: [] }],
  request: { query: ListQuerySchema },
  responses: { 200: ok(AccountPageSchema, "A list of Account objects"), ...errors(400, 401) },
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(app, route, async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.accounts, ACCOUNT_FIELDS)), {
    cache: "config",
  });
}
