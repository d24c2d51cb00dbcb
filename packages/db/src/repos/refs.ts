import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { accounts } from "../schema/accounts.ts";
import { callFlows } from "../schema/call-flows.ts";
import { didGroups } from "../schema/did-groups.ts";
import { type FieldError, isUuid } from "./common.ts";

/** Null when `sid` is null/undefined or names an existing call flow; else the 422 entry. */
export async function checkCallFlowRef(db: DbOrTx, sid: unknown): Promise<FieldError | null> {
  if (sid === null || sid === undefined) return null;
  if (!isUuid(sid)) return { field: "call_flow_sid", message: "must be a call flow SID" };
  const rows = await db.select({ sid: callFlows.callFlowSid }).from(callFlows).where(eq(callFlows.callFlowSid, sid));
  return rows.length ? null : { field: "call_flow_sid", message: "call flow not found", referenceSid: sid };
}

/**
 * Null when `sid` is null/undefined or names a DID group of `accountSid`; another
 * account's group answers exactly as a missing one.
 */
export async function checkDidGroupRef(db: DbOrTx, accountSid: string, sid: unknown): Promise<FieldError | null> {
  if (sid === null || sid === undefined) return null;
  if (!isUuid(sid)) return { field: "did_group_sid", message: "must be a DID group SID" };
  const rows = await db
    .select({ sid: didGroups.didGroupSid })
    .from(didGroups)
    .where(and(eq(didGroups.didGroupSid, sid), eq(didGroups.accountSid, accountSid)));
  return rows.length ? null : { field: "did_group_sid", message: "DID group not found", referenceSid: sid };
}

/**
 * The account an operator request targets: by `endpoint_sid` (the operator API's way)
 * or by `account_sid`. A missing or unknown one is a 422 entry naming the field.
 */
export async function resolveOwner(
  db: DbOrTx,
  input: { endpoint_sid?: unknown; account_sid?: unknown },
): Promise<{ ok: true; accountSid: string; endpointSid: string } | { ok: false; error: FieldError }> {
  const byEndpoint = input.endpoint_sid !== undefined;
  const field = byEndpoint ? "endpoint_sid" : "account_sid";
  const sid = byEndpoint ? input.endpoint_sid : input.account_sid;
  if (sid === undefined) return { ok: false, error: { field: "endpoint_sid", message: "is required" } };
  if (!isUuid(sid)) return { ok: false, error: { field, message: `must be ${byEndpoint ? "an endpoint" : "an account"} SID` } };
  const [row] = await db
    .select({ accountSid: accounts.accountSid, endpointSid: accounts.endpointSid })
    .from(accounts)
    .where(byEndpoint ? eq(accounts.endpointSid, sid) : eq(accounts.accountSid, sid));
  if (!row)
    return { ok: false, error: { field, message: `${byEndpoint ? "endpoint" : "account"} not found`, referenceSid: sid } };
  return { ok: true, ...row };
}
