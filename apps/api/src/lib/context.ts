/**
 * What every handler reaches through Hono's context: the authenticated principal, the
 * parsed body, and the services (repositories, invalidation publisher, live store)
 * created once at the edge and passed in.
 */
import type { Invalidation } from "@conf/access-router";
import type { OutboundPolicy } from "@conf/outbound";
import type { Repositories } from "@conf/db";
import type { SessionStore } from "@conf/session-store";
import type { AuthVariables, CredentialCache } from "./auth.ts";
import type { BodyVariables } from "./body.ts";
import type { FilterLimits } from "./filter.ts";
import type { ReadCache, ReadTicket } from "./read-cache.ts";

/** The repositories of `@conf/db` the routes use (`createRepositories(database)`). */
export type Repos = Repositories;

/** Services shared by all handlers. */
export interface Services {
  readonly repos: Repos;
  readonly authCache: CredentialCache;
  /** Origin (and path prefix) of absolute links; the request's origin when unset. */
  readonly publicUrl: string | undefined;
  /** The live plane of calls and meetings, when the app has one. */
  readonly sessionStore: SessionStore | undefined;
  /**
   * Tells every access router (and API instance) that config of an account changed.
   * `credentials`: its password changed or it is gone, so cached logins must be dropped
   * (here, and on other instances through the flag on the message).
   */
  publish(scope: Invalidation, options?: { credentials?: boolean }): Promise<void>;
  /** Cached GET bodies (serves nothing unless connected to the bus and the store's events). */
  readonly readCache: ReadCache;
  /** Where tenants may make the service send (recording_addr, webhooks). */
  readonly outbound: OutboundPolicy;
  /** Bounds on `?filter=`. */
  readonly filterLimits: FilterLimits;
}

export interface AppVariables extends AuthVariables, BodyVariables {
  services: Services;
  /** The client's address (the TCP peer, or X-Forwarded-For's last entry with API_TRUST_PROXY). */
  clientAddress: string;
  /** Set by `readThrough` on a cache miss: the read whose body may be kept (null: not cached). */
  readTicket?: ReadTicket | null;
}

/**
 * The message published on `invalidationChannel`: the access router's `Invalidation`,
 * plus `credentials: true` when cached logins of the account must go. Routers read it
 * with `parseInvalidation`, which ignores the extra member.
 */
export type ApiInvalidation = Invalidation | (Invalidation & { readonly credentials: true });

/** Whether a received invalidation asks to drop cached logins, and of which account (null: all). */
export function credentialScope(message: unknown): { drop: false } | { drop: true; accountSid: string | null } {
  if (typeof message !== "object" || message === null) return { drop: true, accountSid: null };
  const m = message as { kind?: unknown; accountSid?: unknown; credentials?: unknown };
  if (m.kind === "account" && typeof m.accountSid === "string") {
    return m.credentials === true ? { drop: true, accountSid: m.accountSid } : { drop: false };
  }
  // `all`, or a message we cannot read: drop everything, as the routers do.
  return { drop: true, accountSid: null };
}

/** The Hono environment of the app. */
export type AppEnv = { Variables: AppVariables };

/** The base URL of absolute links for a request: PUBLIC_URL, else the request's origin. */
export function baseUrlOf(services: Services, requestUrl: string): string {
  return (services.publicUrl ?? new URL(requestUrl).origin).replace(/\/+$/, "");
}
