import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok } from "../../lib/openapi.ts";
import { cachedJson, readThrough } from "../../lib/read-cache.ts";
import { ACCOUNT_FIELDS, AccountParams, AccountFilteredSchema } from "./schema.ts";
import { ownAccountSid } from "./own.ts";

const route = createRoute({
  method: "get",
  operationId: "getAccount",
  path: "/accounts/{account_sid}",
  tags: ["Accounts"],
  summary: "Get account by SID",
  description: "Returns an account, targeted by secure ID.",
  security: [{ basicAuth: [] }],
  middleware: [readThrough("config")] as const,
  request: { params: AccountParams, query: ObjectQuerySchema },
  responses: { 200: ok(AccountFilteredSchema, "The Account object"), ...errors(400, 401, 404) },
});

export function registerGet(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const sid = ownAccountSid(c, c.req.valid("param").account_sid);
    const account = unwrap(await c.var.services.repos.accounts.get(sid));
    return cachedJson(c, selectOne(c, account, ACCOUNT_FIELDS));
  });
}
