import type { AccountPatch } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ok, PatchQuerySchema } from "../../lib/openapi.ts";
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
  method: "patch",
  operationId: "updateAccount",
  path: "/accounts/{account_sid}",
  tags: ["Accounts"],
  summary: "Update account (PATCH)",
  description:
    "Updates the given fields of the account. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
  security: [{ basicAuth: [] }],
  request: {
    params: AccountParams,
    query: PatchQuerySchema,
    body: jsonBodyOf(AccountInputSchema, "The fields to change"),
  },
  responses: { 200: ok(AccountFilteredSchema, "The updated Account object"), ...errors(400, 401, 404, 415, 422) },
});

export function registerUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const sid = ownAccountSid(c, c.req.valid("param").account_sid);
    const mode = c.req.valid("query").nested_objects ?? "merge";
    const body = c.req.valid("json");
    const { repos } = c.var.services;
    checkReadOnly(body, unwrap(await repos.accounts.get(sid)), ACCOUNT_READ_ONLY);
    const patch = pickUpdatable(body, ACCOUNT_UPDATABLE, mode === "replace") as AccountPatch;
    const account = unwrap(await repos.accounts.update(sid, patch, { nestedObjects: mode }));
    await c.var.services.publish({ kind: "account", accountSid: sid }, { credentials: patch.password !== undefined });
    return c.json(selectOne(c, account, ACCOUNT_FIELDS), 200);
  });
}
