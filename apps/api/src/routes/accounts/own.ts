import type { Context } from "hono";
import type { AppEnv } from "../../lib/context.ts";
import { notFound } from "../../lib/errors.ts";

/** The account SID of the path when it is the caller's own; any other answers 404 like a missing one. */
export function ownAccountSid(c: Context<AppEnv>, sid: string): string {
  if (sid.toLowerCase() !== c.var.principal.accountSid.toLowerCase()) throw notFound("account");
  return c.var.principal.accountSid;
}
