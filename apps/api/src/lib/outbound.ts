/**
 * Addresses tenants set for the service to send to, checked against the operator's
 * policy (`@conf/outbound`) when they are set: today the call-flow attribute
 * `recording_addr` (a SIP address the mixer INVITEs), wherever a level takes
 * attributes (account, DID group, DID, meeting room). A webhook URL attribute joins
 * the table below with `checkUrl`. The mixer checks again at send time, after DNS.
 */
import { ATTRIBUTES, checkValue } from "@conf/call-flow";
import { checkSipAddress, type CheckedHost, type OutboundPolicy, type Result } from "@conf/outbound";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { type ErrorItem, invalid, item } from "./errors.ts";

/** Attribute keys whose value names a place the service sends to, with their check. */
export const OUTBOUND_ATTRIBUTES = {
  recording_addr: (value: string, policy: OutboundPolicy): Result<CheckedHost> => checkSipAddress(value, policy),
} as const;

/**
 * The 422 items for outbound attributes of a body that the policy refuses. A value
 * that is not even well-formed is left to the schema, which names that problem.
 */
export function outboundProblems(body: unknown, policy: OutboundPolicy): ErrorItem[] {
  if (typeof body !== "object" || body === null) return [];
  const attributes = (body as { attributes?: unknown }).attributes;
  if (typeof attributes !== "object" || attributes === null) return [];
  const out: ErrorItem[] = [];
  for (const [key, check] of Object.entries(OUTBOUND_ATTRIBUTES)) {
    const value = (attributes as Record<string, unknown>)[key];
    if (typeof value !== "string") continue;
    if (checkValue(ATTRIBUTES[key as keyof typeof OUTBOUND_ATTRIBUTES], value) !== null) continue;
    const r = check(value, policy);
    if (!r.ok) out.push(item(`attributes.${key}`, `${r.error}, which this service does not send to`));
  }
  return out;
}

/** Middleware after `jsonBody`: refuses outbound attributes the policy does not allow (422). */
export function checkOutboundAttributes(): MiddlewareHandler<AppEnv> {
  return async function checkOutboundAttributesMiddleware(c, next) {
    const method = c.req.method;
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      const problems = outboundProblems(c.get("body"), c.get("services").outbound);
      if (problems.length > 0) throw invalid(problems);
    }
    await next();
  };
}
