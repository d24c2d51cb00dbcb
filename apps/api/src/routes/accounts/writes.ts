import type { AccountPatch, AccountReplace, DbResult } from "@conf/db";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Services } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { selectOne } from "../../lib/listing.ts";
import { errors, jsonBodyOf, ObjectQuerySchema, ok, PatchQuerySchema, putBodyOf } from "../../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../../lib/patch.ts";
import { ownAccountSid } from "./own.ts";
import {
  ACCOUNT_FIELDS,
  ACCOUNT_READ_ONLY,
  ACCOUNT_UPDATABLE,
  AccountFilteredSchema,
  AccountInputSchema,
  AccountParams,
} from "./schema.ts";

/** PATCH and PUT differ in the method, the query (PATCH's `nested_objects`) and the body schema only. */
const route = <M extends "patch" | "put", R extends object>(
  method: M,
  operationId: string,
  text: { summary: string; description: string },
  request: R,
) =>
  createRoute({
    method,
    operationId,
    path: "/accounts/{account_sid}",
    tags: ["Accounts"],
    summary: text.summary,
    description: text.description,
    security: [{ basicAuth: [] }],
    request: { params: AccountParams, ...request },
    responses: { 200: ok(AccountFilteredSchema, "The updated Account object"), ...errors(400, 401, 404, 415, 422) },
  });

const updateRoute = route(
  "patch",
  "updateAccount",
  {
    summary: "Update account (PATCH)",
    description:
      "Updates the given fields of the account. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
  },
  { query: PatchQuerySchema, body: jsonBodyOf(AccountInputSchema, "The fields to change") },
);

const replaceRoute = route(
  "put",
  "replaceAccount",
  {
    summary: "Update account (PUT)",
    description:
      "Replaces the account. As the reference's PUT, the body is the entire object: attributes, call_flow_sid and name are all required (a missing one is a 422 naming it, and nothing changes). The password is never part of the object the API returns, so it stays unless sent.",
  },
  { query: ObjectQuerySchema, body: putBodyOf(AccountInputSchema, ["attributes", "call_flow_sid", "name"], "AccountReplace") },
);

/**
 * Both writes: the caller's own account only, read-only fields checked against the
 * stored account, the updatable ones saved, the change published (with whether the
 * credentials changed); the account as filtered by `?fields`.
 */
async function write<A extends object>(
  c: Context<AppEnv>,
  param: string,
  body: object,
  replaceNested: boolean,
  save: (repos: Services["repos"], sid: string, fields: AccountPatch & AccountReplace) => Promise<DbResult<A>>,
) {
  const sid = ownAccountSid(c, param);
  const { repos } = c.var.services;
  checkReadOnly(body, unwrap(await repos.accounts.get(sid)), ACCOUNT_READ_ONLY);
  const fields = pickUpdatable(body, ACCOUNT_UPDATABLE, replaceNested) as AccountPatch & AccountReplace;
  const account = unwrap(await save(repos, sid, fields));
  await c.var.services.publish({ kind: "account", accountSid: sid }, { credentials: fields.password !== undefined });
  return selectOne(c, account, ACCOUNT_FIELDS);
}

/** PATCH and PUT `/accounts/{account_sid}`. */
export function registerWrites(app: OpenAPIHono<AppEnv>): void {
  app.openapi(updateRoute, async (c) => {
    const mode = c.req.valid("query").nested_objects ?? "merge";
    const { account_sid } = c.req.valid("param");
    const account = await write(c, account_sid, c.req.valid("json"), mode === "replace", (repos, sid, patch) =>
      repos.accounts.update(sid, patch, { nestedObjects: mode }),
    );
    return c.json(account, 200);
  });
  app.openapi(replaceRoute, async (c) => {
    const { account_sid } = c.req.valid("param");
    const account = await write(c, account_sid, c.req.valid("json"), true, (repos, sid, input) =>
      repos.accounts.replace(sid, input),
    );
    return c.json(account, 200);
  });
}
