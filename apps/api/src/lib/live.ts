/**
 * Helpers of the live routes (calls, meetings): the store, account isolation, and the
 * reference's habit of sending booleans as the strings "true" and "false".
 */
import type { SessionStore } from "@conf/session-store";
import type { Context } from "hono";
import type { AppEnv } from "./context.ts";

/** The live store of the app, or null when it runs without one (then nothing is live). */
export function liveStore(c: Context<AppEnv>): SessionStore | null {
  return c.get("services").sessionStore ?? null;
}

/** A boolean sent as JSON `true`/`false` or as the strings the reference's own examples use. */
export function toBoolean(v: boolean | "true" | "false"): boolean {
  return v === true || v === "true";
}

/** Whether a live object belongs to the caller; another account's object must look missing. */
export function isOwn(c: Context<AppEnv>, obj: { account_sid: string } | null): boolean {
  return obj !== null && obj.account_sid === c.get("principal").accountSid;
}
