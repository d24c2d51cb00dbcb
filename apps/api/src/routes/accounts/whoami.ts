import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, readThrough } from "../../lib/read-cache.ts";
import { ACCOUNT_FIELDS, AccountFilteredSchema } from "./schema.ts";

const route = createRoute({
  method: "get",
  operationId: "getCurrentAccount",
  path: "/accounts/whoami",
  tags: ["Accounts"],
  summary: "Get current account",
  description: "Returns the currently logged-in account.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("config")] as const,
  request: { query: ObjectQuerySchema },
  responses: { 200: ok(AccountFilteredSchema, "The Account object"), ...errors(400, 401) },
});

export function registerWhoami(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const account = unwrap(await c.var.services.repos.accounts.get(c.var.principal.accountSid));
    return cachedJson(c, selectOne(c, account, ACCOUNT_FIELDS));
  });
}
