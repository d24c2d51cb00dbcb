/**
 * The address a request came from, for per-address limits: the TCP peer as Bun's
 * `server.requestIP()` reports it (Bun passes the server as the second argument of
 * `fetch`, which Hono hands on as `c.env`). Behind a proxy that appends the peer to
 * X-Forwarded-For, `trustProxy` takes that list's last entry instead: the only one the
 * proxy wrote (the ones before it are whatever the client sent).
 */
import type { Context } from "hono";

/** What Hono's `c.env` is when Bun serves the app (or what a test passes to `app.request`). */
export interface RequestIpSource {
  requestIP?(request: Request): { address: string } | null;
}

/** The key of requests whose address is not known (in-process `app.request` without env). */
export const UNKNOWN_ADDRESS = "unknown";

/**
 * The client's address, or {@link UNKNOWN_ADDRESS}.
 * @example clientAddress(c, false) // "203.0.113.7"
 */
export function clientAddress(c: Context, trustProxy = false): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for");
    const last = forwarded?.split(",").pop()?.trim();
    // An address, not anything else a misconfigured proxy might leave there.
    if (last && last.length <= 64 && /^[0-9A-Fa-f:.]+$/.test(last)) return last;
  }
  const env = c.env as RequestIpSource | undefined;
  if (env && typeof env.requestIP === "function") {
    try {
      const info = env.requestIP(c.req.raw);
      if (info?.address) return info.address;
    } catch {
      // Not a request of this server (re-created by a middleware): address unknown.
    }
  }
  return UNKNOWN_ADDRESS;
}
