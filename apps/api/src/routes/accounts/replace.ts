import type { AccountReplace } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, ObjectQuerySchema, ok, putBodyOf } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import { ownAccountSid } from "./own.ts";
import {
  ACCOUNT_FIELDS,
  ACCOUNT_READ_ONLY,
  ACCOUNT_UPDATABLE,
  AccountInputSchema,
  AccountParams,
  AccountFilteredSchema,
} from "./schema.ts";

const route = createRoute({
  method: "put",
  operationId: "replaceAccount",
  path: "/accounts/{account_sid}",
  tags: ["Accounts"],
  summary: "Update account (PUT)",
  description:
    "Replaces the account. As the reference's PUT, the body is the entire object: attributes, call_flow_sid and name are all required (a missing one is a 422 naming it, and nothing changes). The password is never part of the object the API returns, so it stays unless sent.",
  security: [{ basicAuth: [] }],
  request: {
    params: AccountParams,
    query: ObjectQuerySchema,
    body: putBodyOf(AccountInputSchema, ["attributes", "call_flow_sid", "name"], "AccountReplace"),
  },
  responses: { 200: ok(AccountFilteredSchema, "The updated Account object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerReplace(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const sid = ownAccountSid(c, c.req.valid("param").account_sid);
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.accounts.get(sid)), ACCOUNT_READ_ONLY);
    const input = pickUpdatable(body, ACCOUNT_UPDATABLE, true) as AccountReplace;
    const account = unwrap(await repos.accounts.replace(sid, input));
    await c.var.services.publish({ kind: "account", accountSid: sid }, { credentials: input.password !== undefined });
    return c.json(selectOne(c, account, ACCOUNT_FIELDS), 200);
  });
}
