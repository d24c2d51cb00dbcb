/**
 * Authentication: HTTP Basic of an account's login and password on `/conference/v2`,
 * `Authorization: Bearer $ADMIN_TOKEN` on `/core/v2`.
 *
 * An argon2id verification costs milliseconds by design, so a verified credential is
 * cached, keyed by the SHA-256 of the whole Authorization header (the header itself is
 * never kept), for a short TTL; entries of an account are dropped as soon as its
 * password (or anything else of it) changes, here or, through the invalidation bus, on
 * another API instance. A cache hit costs one hash and one Map lookup (microseconds).
 */
import { timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { clientAddress } from "./client-address.ts";
import { forbidden, tooManyRequests, unauthorized } from "./errors.ts";
import type { LoginLimiter } from "./login-limiter.ts";
import { badString } from "./input.ts";

/** Who a verified credential belongs to. */
export interface Principal {
  readonly accountSid: string;
  readonly login: string;
}

/** Checks a login and password; null when they do not match an account. */
export type VerifyLogin = (login: string, password: string) => Promise<Principal | null>;

/** Default lifetime of a cached verification, in milliseconds. */
export const DEFAULT_AUTH_CACHE_TTL_MS = 60_000;
/** Default bound on cached verifications (oldest evicted first). */
export const DEFAULT_AUTH_CACHE_MAX_ENTRIES = 10_000;

export interface CredentialCacheOptions {
  /** Lifetime of an entry in milliseconds (default 60 000; 0 disables caching). */
  readonly ttlMs?: number;
  /** Bound on entries (default 10 000). */
  readonly maxEntries?: number;
  /** Clock in milliseconds (tests); default `Date.now`. */
  readonly now?: () => number;
}

/** The verified-credential cache. */
export interface CredentialCache {
  /** The principal of a Basic header: cached, or verified (once per concurrent burst) and cached. */
  authenticate(header: string, verify: VerifyLogin): Promise<Principal | null>;
  /** The principal of a Basic header when it is cached and fresh; verifies nothing. */
  peek(header: string): Principal | undefined;
  /** Whether a verification of exactly this header is under way (a request may wait for it). */
  pending(header: string): boolean;
  /** Drops every entry of an account (its password or the account itself changed). */
  dropAccount(accountSid: string): void;
  /** Drops everything. */
  clear(): void;
  /** Number of entries (tests, metrics). */
  readonly size: number;
}

interface Entry {
  readonly principal: Principal;
  readonly expiresAt: number;
}

function sha256(s: string): string {
  // The one-shot form: a CryptoHasher object per request cost more than the hash itself.
  return Bun.SHA256.hash(s, "hex");
}

/** Splits a Basic header into login and password, or null when it is not one. */
export function parseBasic(header: string): { login: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m?.[1]) return null;
  let decoded: string;
  try {
    decoded = Buffer.from(m[1], "base64").toString("utf8");
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  const login = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  // No account has such a login or password; the database would refuse a NUL with a 500.
  if (badString(login) || badString(password)) return null;
  return { login, password };
}

/**
 * Creates the verified-credential cache.
 * @example
 * const cache = createCredentialCache({ ttlMs: 30_000 });
 * const who = await cache.authenticate(c.req.header("authorization") ?? "", verify);
 */
export function createCredentialCache(options: CredentialCacheOptions = {}): CredentialCache {
  const ttl = options.ttlMs ?? DEFAULT_AUTH_CACHE_TTL_MS;
  const max = options.maxEntries ?? DEFAULT_AUTH_CACHE_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const byAccount = new Map<string, Set<string>>();
  const inflight = new Map<string, Promise<Principal | null>>();
  // Bumped on every drop: a verification that started before a drop must not be cached
  // after it (it may have checked the old password).
  let generation = 0;

  function remove(key: string): void {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    const keys = byAccount.get(e.principal.accountSid);
    keys?.delete(key);
    if (keys?.size === 0) byAccount.delete(e.principal.accountSid);
  }

  function put(key: string, principal: Principal): void {
    if (ttl <= 0) return;
    remove(key);
    while (entries.size >= max) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      remove(oldest);
    }
    entries.set(key, { principal, expiresAt: now() + ttl });
    let keys = byAccount.get(principal.accountSid);
    if (!keys) byAccount.set(principal.accountSid, (keys = new Set()));
    keys.add(key);
  }

  return {
    peek(header) {
      const hit = entries.get(sha256(header));
      return hit && hit.expiresAt > now() ? hit.principal : undefined;
    },
    pending(header) {
      return inflight.has(sha256(header));
    },
    async authenticate(header, verify) {
      const key = sha256(header);
      const hit = entries.get(key);
      if (hit) {
        if (hit.expiresAt > now()) return hit.principal;
        remove(key);
      }
      const pending = inflight.get(key);
      if (pending) return pending;
      const creds = parseBasic(header);
      if (!creds) return null;
      const started = generation;
      const p = verify(creds.login, creds.password)
        .then((principal) => {
          if (principal && started === generation) put(key, principal);
          return principal;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
    dropAccount(accountSid) {
      generation++;
      for (const key of [...(byAccount.get(accountSid) ?? [])]) remove(key);
    },
    clear() {
      generation++;
      entries.clear();
      byAccount.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

/** Hono variables set by the auth middlewares. */
export interface AuthVariables {
  principal: Principal;
}

/** Options of {@link basicAuth}. */
export interface BasicAuthOptions {
  readonly cache: CredentialCache;
  readonly verify: VerifyLogin;
  /** Failed-login limiter; none: unlimited. */
  readonly limiter?: LoginLimiter;
  /** The client's address (limiter key); default read from the request. */
  readonly address?: (c: Context) => string;
}

/**
 * Middleware for `/conference/v2`: HTTP Basic against the accounts, through the cache.
 * Sets `c.var.principal`; answers 401 (the reference's body) otherwise, and 429 when
 * the client's address (or its address with this login) failed too often. A cached,
 * already verified credential is never limited: it cannot be a guess.
 */
export function basicAuth(options: BasicAuthOptions): MiddlewareHandler<{
  Variables: AuthVariables;
}> {
  return async function basicAuthMiddleware(c, next) {
    const header = c.req.header("authorization");
    if (!header) throw unauthorized();
    let principal: Principal | null | undefined = options.cache.peek(header);
    if (!principal) {
      // Only a readable login and password is a guess; anything else verifies nothing.
      const creds = parseBasic(header);
      // A request with the very header another is verifying waits for that answer: it
      // guesses nothing new, so it is not counted (a client's first burst of parallel
      // requests is one attempt, not one per request).
      const limiter = creds && !options.cache.pending(header) ? options.limiter : undefined;
      const login = creds?.login ?? "";
      const address = options.address ? options.address(c) : clientAddress(c);
      if (limiter) {
        const waitMs = limiter.retryAfterMs(address, login);
        if (waitMs > 0) throw tooManyRequests(waitMs / 1000);
        limiter.attempt(address, login);
      }
      principal = await options.cache.authenticate(header, options.verify);
      if (principal) limiter?.succeeded(address, login);
    }
    if (!principal) throw unauthorized();
    c.set("principal", principal);
    await next();
  };
}

function sameSecret(a: string, b: string): boolean {
  // Compare digests: equal lengths for timingSafeEqual, and no early exit on length.
  return timingSafeEqual(Buffer.from(sha256(a), "hex"), Buffer.from(sha256(b), "hex"));
}

/**
 * Middleware for `/core/v2`: `Authorization: Bearer <token>`. A missing or wrong token is
 * 401; an account's Basic credential is 403 (authenticated as something, but not the
 * operator).
 */
export function bearerAuth(options: { token: string }): MiddlewareHandler {
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) {
      if (/^Basic\s/i.test(header)) throw forbidden();
      throw unauthorized();
    }
    if (!sameSecret(m[1], options.token)) throw unauthorized();
    await next();
  };
}
