/**
 * What every handler reaches through Hono's context: the authenticated principal, the
 * parsed body, and the services (repositories, invalidation publisher, live store)
 * created once at the edge and passed in.
 */
import type { Invalidation } from "@conf/access-router";
import type { Repositories } from "@conf/db";
import type { SessionStore } from "@conf/session-store";
import type { AuthVariables, CredentialCache } from "./auth.ts";
import type { BodyVariables } from "./body.ts";

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
  /** Tells every access router (and API instance) that config of an account changed. */
  publish(scope: Invalidation): Promise<void>;
}

export interface AppVariables extends AuthVariables, BodyVariables {
  services: Services;
}

/** The Hono environment of the app. */
export type AppEnv = { Variables: AppVariables };

/** The base URL of absolute links for a request: PUBLIC_URL, else the request's origin. */
export function baseUrlOf(services: Services, requestUrl: string): string {
  return (services.publicUrl ?? new URL(requestUrl).origin).replace(/\/+$/, "");
}
