/**
 * A read cache of GET responses: the final JSON body of a list or of one object, per
 * account and request URL, inside this API process, dropped by the changes that
 * could alter it.
 *
 * - `config` (accounts, call flows, DIDs, DID groups, meeting rooms; PostgreSQL): dropped
 *   for an account by the config invalidation every write publishes on the bus (so a
 *   write through any instance reaches every instance), and synchronously by this
 *   instance's own writes before their response leaves (read-your-writes). A config page
 *   also expires after {@link DEFAULT_CONFIG_MAX_AGE_MS}, the safety net for a publish
 *   that failed while the bus looked healthy (the access routers keep the same bound).
 * - `live` (calls, meetings; the session store): dropped for an account by any of its
 *   session events, by this instance's own PATCH/DELETE, and, because `duration` is
 *   computed when read, kept only until the first displayed `duration` would tick
 *   (see {@link durationValidUntil}), and never longer than {@link DEFAULT_LIVE_MAX_AGE_MS}.
 *
 * Nothing is served or kept for a scope while its subscription is not known to be
 * delivered (before it is set up, while the Redis connection is down, until the channels
 * are confirmed again): a message missed then would leave a stale page behind. Every
 * change of that state also drops everything of the scope.
 *
 * A read takes a ticket before it reads; its body is kept only if no drop of its account
 * and scope happened meanwhile, so a read racing a write never stores the old state.
 *
 * Between a write on another instance and its message arriving here (a pub/sub hop,
 * about a millisecond on one Redis), this instance may still answer the previous page;
 * on the writing instance, and for its client, the next read is always fresh.
 */
import { invalidationChannel, parseInvalidation } from "@conf/access-router";
import type { SubscriptionHealth } from "@conf/session-store";
import type { Context, MiddlewareHandler, TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";

/** The scopes of cached bodies, each dropped by its own messages and served while their subscription is live. */
export const READ_SCOPES = ["config", "live"] as const;
/** What a cached body depends on: PostgreSQL config, or the live store. */
export type ReadScope = (typeof READ_SCOPES)[number];

/** Safety net of config pages, in milliseconds (invalidations are the main path). */
export const DEFAULT_CONFIG_MAX_AGE_MS = 30_000;
/**
 * Longest life of a live page, in milliseconds. Durations already bound most pages to
 * less; this bounds what changes without an event: an empty page (nothing to tick), and
 * a meeting whose mixer node died, hidden once its lease runs out and announced only
 * when it is reaped. One second is the resolution of every live figure the reference
 * prints, so no answer is older than the granularity of the values it carries.
 */
export const DEFAULT_LIVE_MAX_AGE_MS = 1000;
/** Default bound on entries (least recently used evicted first). */
export const DEFAULT_READ_CACHE_MAX_ENTRIES = 4096;
/** Default bound on the characters of all kept bodies (64 Mi characters). */
export const DEFAULT_READ_CACHE_MAX_CHARS = 64 * 1024 * 1024;
/** Default bound on one kept body, in characters (2 Mi; a full 1000-item page of calls is about 0.5 Mi). */
export const DEFAULT_READ_CACHE_MAX_ENTRY_CHARS = 2 * 1024 * 1024;
// Drop records are kept per account so a ticket can tell whether its account changed;
// past this many accounts they are all forgotten at once (and with them every entry).
const MAX_ACCOUNTS = 100_000;

export interface ReadCacheOptions {
  /** Bound on entries (default 4096). */
  readonly maxEntries?: number;
  /** Bound on the characters of all bodies (default 64 Mi). */
  readonly maxChars?: number;
  /** Bodies longer than this (characters) are not kept (default 2 Mi). */
  readonly maxEntryChars?: number;
  /** Longest life of a config body, in milliseconds (default 30 000). */
  readonly configMaxAgeMs?: number;
  /** Longest life of a live body, in milliseconds (default 1000). */
  readonly liveMaxAgeMs?: number;
  /** Clock in milliseconds (tests); default `Date.now`. */
  readonly now?: () => number;
}

/** A read in progress: what it must still match to be kept. */
export interface ReadTicket {
  readonly key: string;
  readonly accountSid: string;
  readonly scope: ReadScope;
  readonly generation: number;
  readonly epoch: number;
  /** When the read started (ms); a body's age counts from here. */
  readonly at: number;
}

/** The per-process read cache. */
export interface ReadCache {
  /** The kept body of `url` for the account, or undefined (also while the scope is not served). */
  get(accountSid: string, scope: ReadScope, url: string): string | undefined;
  /** Starts a read whose body may be kept; null while the scope is not served. */
  ticket(accountSid: string, scope: ReadScope, url: string): ReadTicket | null;
  /**
   * Keeps `body` for the ticket's URL unless the account's scope was dropped since the
   * ticket, until `validUntil` (ms) or the scope's maximum age, whichever is first.
   */
  put(ticket: ReadTicket, body: string, validUntil?: number): void;
  /** Drops every body of the account in the scope, and every read of it in progress. */
  drop(accountSid: string, scope: ReadScope): void;
  /** Drops every body of the scope. */
  dropAll(scope: ReadScope): void;
  /** Whether the scope's invalidations are being delivered; off: nothing served, everything dropped. */
  setServing(scope: ReadScope, serving: boolean): void;
  /** Whether the scope is served now. */
  serving(scope: ReadScope): boolean;
  /** Entries kept (some may be stale, dropped when next met or evicted). */
  readonly size: number;
  /** Hits and misses since start (served scopes only). */
  readonly stats: { readonly hits: number; readonly misses: number };
}

interface Entry {
  readonly body: string;
  readonly accountSid: string;
  readonly scope: ReadScope;
  readonly generation: number;
  readonly epoch: number;
  readonly expiresAt: number;
}

interface Generations {
  config: number;
  live: number;
}

/**
 * Creates a read cache. It serves nothing until {@link ReadCache.setServing} says a
 * scope's invalidations arrive ({@link connectReadCache} does).
 * @example
 * const cache = createReadCache();
 * const stop = await connectReadCache(cache, { bus, events: store.events });
 * const app = createApp({ database, adminToken, bus, sessionStore: store, readCache: cache });
 */
export function createReadCache(options: ReadCacheOptions = {}): ReadCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? DEFAULT_READ_CACHE_MAX_ENTRIES;
  const maxChars = options.maxChars ?? DEFAULT_READ_CACHE_MAX_CHARS;
  const maxEntryChars = options.maxEntryChars ?? DEFAULT_READ_CACHE_MAX_ENTRY_CHARS;
  const maxAge: Record<ReadScope, number> = {
    config: options.configMaxAgeMs ?? DEFAULT_CONFIG_MAX_AGE_MS,
    live: options.liveMaxAgeMs ?? DEFAULT_LIVE_MAX_AGE_MS,
  };
  // Insertion order is recency: a hit moves its entry to the end, eviction takes the front.
  const entries = new Map<string, Entry>();
  const generations = new Map<string, Generations>();
  const epoch: Record<ReadScope, number> = { config: 0, live: 0 };
  const serving: Record<ReadScope, boolean> = { config: false, live: false };
  let chars = 0;
  const stats = { hits: 0, misses: 0 };

  const keyOf = (accountSid: string, url: string) => `${accountSid} ${url}`;
  const generationOf = (accountSid: string, scope: ReadScope) => generations.get(accountSid)?.[scope] ?? 0;

  function remove(key: string, e: Entry): void {
    entries.delete(key);
    chars -= e.body.length;
  }

  function dropAll(scope: ReadScope): void {
    epoch[scope]++;
    for (const [key, e] of entries) if (e.scope === scope) remove(key, e);
  }

  return {
    get(accountSid, scope, url) {
      if (!serving[scope]) return undefined;
      const key = keyOf(accountSid, url);
      const e = entries.get(key);
      if (e === undefined) {
        stats.misses++;
        return undefined;
      }
      if (e.epoch !== epoch[scope] || e.generation !== generationOf(accountSid, scope) || now() >= e.expiresAt) {
        remove(key, e);
        stats.misses++;
        return undefined;
      }
      entries.delete(key);
      entries.set(key, e);
      stats.hits++;
      return e.body;
    },

    ticket(accountSid, scope, url) {
      if (!serving[scope]) return null;
      return {
        key: keyOf(accountSid, url),
        accountSid,
        scope,
        generation: generationOf(accountSid, scope),
        epoch: epoch[scope],
        at: now(),
      };
    },

    put(ticket, body, validUntil) {
      const { scope, accountSid } = ticket;
      if (!serving[scope] || ticket.epoch !== epoch[scope] || ticket.generation !== generationOf(accountSid, scope)) return;
      if (body.length > maxEntryChars) return;
      const expiresAt = Math.min(ticket.at + maxAge[scope], validUntil ?? Number.POSITIVE_INFINITY);
      if (expiresAt <= now()) return;
      const old = entries.get(ticket.key);
      if (old) remove(ticket.key, old);
      entries.set(ticket.key, { body, accountSid, scope, generation: ticket.generation, epoch: ticket.epoch, expiresAt });
      chars += body.length;
      for (const [key, e] of entries) {
        if (entries.size <= maxEntries && chars <= maxChars) break;
        remove(key, e);
      }
    },

    drop(accountSid, scope) {
      let g = generations.get(accountSid);
      if (g === undefined) {
        if (generations.size >= MAX_ACCOUNTS) {
          // Forgetting drop records would let an old ticket match again: start over instead.
          generations.clear();
          dropAll("config");
          dropAll("live");
        }
        g = { config: 0, live: 0 };
        generations.set(accountSid, g);
      }
      g[scope]++;
    },

    dropAll,

    setServing(scope, on) {
      if (serving[scope] === on) return;
      serving[scope] = on;
      dropAll(scope);
    },

    serving: (scope) => serving[scope],

    get size() {
      return entries.size;
    },
    stats,
  };
}

/**
 * When a live body stops being what a fresh read would answer, because a `duration` in it
 * ticks: the store computes `duration = floor((now - date_created) / 1000)` (0 before
 * `date_created`), so an object read with `duration = d` reads `d + 1` from
 * `date_created + (d + 1) s` on. Until the earliest of those moments the cached body is
 * byte for byte what the store would answer (state changes come as events), so a
 * cached `duration` is never behind a fresh one. With no object, no bound
 * (`Infinity`; the scope's maximum age applies).
 * @example durationValidUntil([{ date_created: "2024-01-01T00:00:00.250Z", duration: 3 }]) // Date.parse("2024-01-01T00:00:04.250Z")
 */
export function durationValidUntil(objects: Iterable<{ readonly date_created: string; readonly duration: number }>): number {
  let until = Number.POSITIVE_INFINITY;
  for (const o of objects) {
    const created = Date.parse(o.date_created);
    // An unreadable date: nothing is known about when it ticks, so keep nothing.
    if (Number.isNaN(created)) return Number.NEGATIVE_INFINITY;
    const tick = created + (o.duration + 1) * 1000;
    if (tick < until) until = tick;
  }
  return until;
}

/** Where a {@link connectReadCache} hears about changes. */
export interface ReadCacheSources {
  /** The config invalidation bus (`invalidationChannel`); without it config is never cached. */
  readonly bus?: {
    subscribe(channel: string, handler: (message: unknown) => unknown): Promise<() => Promise<void>>;
    readonly health: SubscriptionHealth;
  };
  /** The session store's events; without them calls and meetings are never cached. */
  readonly events?: {
    subscribe(handler: (event: { account_sid?: unknown }) => unknown): Promise<() => Promise<void>>;
    readonly health: SubscriptionHealth;
  };
}

/**
 * Subscribes the cache to config invalidations and session events and serves each scope
 * only while its subscription is delivered. Resolves once subscribed; the returned
 * function unsubscribes (and stops serving).
 * @example const stop = await connectReadCache(cache, { bus, events: store.events }); await stop();
 */
export async function connectReadCache(cache: ReadCache, sources: ReadCacheSources): Promise<() => Promise<void>> {
  const stops: (() => unknown)[] = [];

  async function follow(
    scope: ReadScope,
    health: SubscriptionHealth,
    subscribe: () => Promise<() => Promise<void>>,
  ): Promise<void> {
    let subscribed = false;
    stops.push(health.watch((live) => cache.setServing(scope, subscribed && live)));
    const unsubscribe = await subscribe();
    subscribed = true;
    stops.push(() => {
      subscribed = false;
      cache.setServing(scope, false);
      return unsubscribe();
    });
    cache.setServing(scope, health.live);
  }

  const { bus, events } = sources;
  try {
    if (bus) {
      await follow("config", bus.health, () =>
        bus.subscribe(invalidationChannel, (message) => {
          const scope = parseInvalidation(message);
          if (scope.kind === "account") cache.drop(scope.accountSid, "config");
          else cache.dropAll("config");
        }),
      );
    }
    if (events) {
      await follow("live", events.health, () =>
        events.subscribe((event) => {
          if (typeof event.account_sid === "string") cache.drop(event.account_sid, "live");
          else cache.dropAll("live");
        }),
      );
    }
  } catch (e) {
    for (const stop of stops.reverse()) await stop();
    throw e;
  }
  return async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
}

// ---------------------------------------------------------------------------
// Routes

const JSON_HEADERS = { "Content-Type": "application/json" } as const;

/**
 * What the cache's middleware reads and sets on a request; the app's own environment
 * (context.ts) has all of it. Declared here so that this file needs nothing of the app's.
 */
export type ReadCacheEnv = {
  Variables: {
    services: { readonly readCache: ReadCache };
    principal: { readonly accountSid: string };
    readTicket?: ReadTicket | null;
  };
};

/**
 * Route middleware of a cached GET: answers from the cache when it can (after auth, so
 * only ever to the account the body was read for), else lets the handler read, holding a
 * ticket that {@link cachedJson} uses to keep the body.
 * @example createRoute({ method: "get", path: "/meeting_rooms", middleware: [readThrough("config")], ... })
 */
export function readThrough(scope: ReadScope): MiddlewareHandler<ReadCacheEnv> {
  return async function readCache(c, next) {
    const cache = c.get("services").readCache;
    const { accountSid } = c.get("principal");
    const url = c.req.url;
    const hit = cache.get(accountSid, scope, url);
    if (hit !== undefined) return c.body(hit, 200, JSON_HEADERS);
    c.set("readTicket", cache.ticket(accountSid, scope, url));
    await next();
  };
}

/**
 * `c.json(value, 200)`, keeping the body for the request's ticket when it has one.
 * `validUntil` (ms since the epoch) bounds its life further (live objects: {@link durationValidUntil}).
 * @example return cachedJson(c, page, durationValidUntil(page.items));
 */
export function cachedJson<T extends object, E extends ReadCacheEnv>(
  c: Context<E>,
  value: T,
  validUntil?: number,
): Response & TypedResponse<JSONParsed<T>, 200, "json"> {
  const body = JSON.stringify(value);
  const ticket = c.get("readTicket");
  if (ticket) c.get("services").readCache.put(ticket, body, validUntil);
  return c.body(body, 200, JSON_HEADERS) as unknown as Response & TypedResponse<JSONParsed<T>, 200, "json">;
}
