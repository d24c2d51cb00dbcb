import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { listRoute, registerListRoute } from "../../lib/list-route.ts";
import { listConfig } from "../../lib/listing.ts";
import { cachedJson } from "../../lib/read-cache.ts";
import { ACCOUNT_FIELDS, AccountPageSchema } from "./schema.ts";

const route = listRoute({
  operationId: "listAccounts",
  path: "/accounts",
  tag: "Accounts",
  summary: "Get accounts",
  description: "Returns accounts matching the criteria in the request URL (an account sees only itself).",
  page: AccountPageSchema,
  items: "Account",
});

export function registerList(app: OpenAPIHono<AppEnv>): void {
  registerListRoute(app, route, async (c) => cachedJson(c, await listConfig(c, c.var.services.repos.accounts, ACCOUNT_FIELDS)), {
    cache: "config",
  });
}
