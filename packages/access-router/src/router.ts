import { resolve } from "@conf/call-flow";
import { TtlCache } from "./cache.ts";
import type {
  AdmitDecision,
  Inbound,
  JoinDecision,
  PromptContext,
  Refusal,
  RefusalReason,
  RouteDecision,
  Via,
} from "./decision.ts";
import { type Invalidation, parseInvalidation } from "./invalidation.ts";
import { isAdhocCode, normalizeCode, normalizeDialed } from "./normalize.ts";
import type { AccessCodeMatch, ConfigPort, NumberMatch } from "./port.ts";

/** Default lifetime of a cached lookup, in milliseconds. Invalidation is the main path; this is the safety net. */
export const DEFAULT_CACHE_TTL_MS = 30_000;

/** Default bound on cached entries per lookup kind. */
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

export interface AccessRouterOptions {
  /** Where config is read from (`createConfigReader(database)` of `@conf/db`). */
  readonly config: ConfigPort;
  /** Lifetime of a cached lookup in milliseconds (default 30 000; 0 disables caching). */
  readonly cacheTtlMs?: number;
  /** Bound on cached entries per lookup kind (default 10 000). */
  readonly cacheMaxEntries?: number;
  /**
   * Subscribes to config invalidations (the app wires it to the session store's `Bus`
   * on `invalidationChannel`) and returns the unsubscribe function, called by
   * `close()`, or a promise of it (as `Bus.subscribe` does). While that promise is
   * pending nothing is cached, and when it resolves the cache starts empty, so no
   * lookup is cached that an invalidation could have missed; if it rejects, the router
   * keeps working uncached and `ready` rejects. Payloads are checked: an unreadable
   * one drops everything.
   */
  readonly subscribe?: (handler: (scope: Invalidation) => void) => Unsubscribe | Promise<Unsubscribe>;
  /** Clock in milliseconds (tests); default `Date.now`. */
  readonly now?: () => number;
}

/** Ends a subscription; its result is awaited by nobody. */
export type Unsubscribe = () => unknown;

/** From an inbound call to a decision. See {@link createAccessRouter}. */
export interface AccessRouter {
  /**
   * Decides what to do with a call from its dialed number: refuse it, join it to the
   * number's meeting at once (`direct_*` flows), or prompt for an access code.
   * Rejects only when the config port does.
   */
  route(inbound: Inbound): Promise<RouteDecision>;
  /**
   * Admits a caller of a prompted call by the code they entered (a trailing `#` is
   * ignored): the meeting to join and the role, or why not.
   */
  admit(context: PromptContext, code: string): Promise<AdmitDecision>;
  /** Drops cached lookups affected by a config change. */
  invalidate(scope: Invalidation): void;
  /**
   * Resolves once invalidations are subscribed (at once without `subscribe`); rejects
   * with the subscription's error, the router then working without a cache.
   */
  readonly ready: Promise<void>;
  /** Stops listening for invalidations. Idempotent; routing keeps working. */
  close(): void;
}

const refuse = <R extends RefusalReason>(reason: R): Refusal<R> => ({ kind: "refuse", reason });

// Access-code cache keys: account and code joined by a character neither contains.
const codeKey = (accountSid: string, code: string) => `${accountSid}\n${code}`;

/**
 * Creates an access router over a config port, with cached lookups.
 *
 * Caching: `findNumber` results are cached by digits and `findAccessCode` results by
 * account and code, `null` included, for `cacheTtlMs`. An `account` invalidation drops
 * that account's code lookups and all number lookups (DIDs and prefixes can move, and
 * a number refused a moment ago may now exist); `all` drops everything. A lookup that
 * was in flight when an invalidation arrived is returned but not cached.
 *
 * @example
 * const router = createAccessRouter({ config: createConfigReader(database), subscribe: (h) => bus.subscribe(invalidationChannel, h) });
 * const d = await router.route({ dialed: "+1 516 206 5919", caller: "15550001111", transport: "udp" });
 * if (d.kind === "prompt") {
 *   const j = await router.admit(d.context, "890671#");
 *   if (j.kind === "join") console.log(j.meetingKey, j.role); // "room:<sid>" "host"
 * }
 */
export function createAccessRouter(options: AccessRouterOptions): AccessRouter {
  const { config } = options;
  const now = options.now ?? Date.now;
  const ttl = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const max = options.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
  const numbers = new TtlCache<NumberMatch | null>(ttl, max, now);
  const codes = new TtlCache<AccessCodeMatch | null>(ttl, max, now);
  // Concurrent calls to the same number share one lookup.
  const numbersInFlight = new Map<string, Promise<NumberMatch | null>>();
  const codesInFlight = new Map<string, Promise<AccessCodeMatch | null>>();
  // Bumped by every invalidation; a lookup started under an older generation may have
  // read config from before the change, so its answer is not cached.
  let generation = 0;
  // Off while a subscription is being set up (or failed): a cached answer then could
  // outlive a change whose invalidation nobody heard.
  let caching = true;

  async function cached<V>(
    key: string,
    cache: TtlCache<V>,
    inFlight: Map<string, Promise<V>>,
    load: () => Promise<V>,
  ): Promise<V> {
    const hit = cache.get(key);
    if (hit) return hit.value;
    const pending = inFlight.get(key);
    if (pending) return pending;
    const startedAt = generation;
    const p = load()
      .then((value) => {
        if (caching && generation === startedAt) cache.set(key, value);
        return value;
      })
      .finally(() => {
        if (inFlight.get(key) === p) inFlight.delete(key);
      });
    inFlight.set(key, p);
    return p;
  }

  const findNumber = (digits: string) => cached(digits, numbers, numbersInFlight, () => config.findNumber(digits));
  const findAccessCode = (accountSid: string, code: string) =>
    cached(codeKey(accountSid, code), codes, codesInFlight, () => config.findAccessCode(accountSid, code));

  function invalidate(scope: Invalidation): void {
    generation++;
    numbers.clear();
    numbersInFlight.clear();
    if (scope.kind === "all") {
      codes.clear();
      codesInFlight.clear();
      return;
    }
    const prefix = codeKey(scope.accountSid, "");
    codes.deleteWhere((k) => k.startsWith(prefix));
    for (const k of [...codesInFlight.keys()]) if (k.startsWith(prefix)) codesInFlight.delete(k);
  }

  async function route(inbound: Inbound): Promise<RouteDecision> {
    const dialed = normalizeDialed(inbound.dialed);
    if (!dialed) return refuse("unknown_number");
    const match = await findNumber(dialed);
    if (!match) return refuse("unknown_number");

    const viaPrefix = match.kind === "prefix";
    const did = match.kind === "did" ? match.did : null;
    const didGroup = match.kind === "did" ? match.didGroup : null;
    const resolved = resolve({ account: match.account, did, didGroup, viaPrefix });
    // An unknown call flow SID is as good as none: there is no admission to follow.
    if (!resolved.ok) return refuse("no_call_flow");
    const { callFlow, attributes, sources } = resolved.value;

    const via: Via =
      match.kind === "did"
        ? { kind: "did", didSid: match.did.sid, phonenumber: match.did.phonenumber, didGroupSid: match.didGroup?.sid ?? null }
        : { kind: "prefix", prefix: match.prefix };
    const accountSid = match.account.sid;

    if (callFlow.admission.kind === "direct") {
      return {
        kind: "join",
        meetingKey: `direct:${accountSid}:${dialed}`,
        role: callFlow.admission.role,
        accountSid,
        meetingRoomSid: null,
        accessCode: null,
        callFlow,
        attributes,
        sources,
        via,
        dialed,
      };
    }
    return {
      kind: "prompt",
      context: {
        accountSid,
        dialed,
        caller: inbound.caller,
        transport: inbound.transport,
        via,
        callFlow,
        attributes,
        sources,
        levels: { account: match.account, didGroup, did },
      },
    };
  }

  async function admit(context: PromptContext, rawCode: string): Promise<AdmitDecision> {
    const code = normalizeCode(rawCode);
    if (!code) return refuse("unknown_code");
    const { admission } = context.callFlow;
    const found = await findAccessCode(context.accountSid, code);

    const base = {
      kind: "join",
      accountSid: context.accountSid,
      accessCode: code,
      callFlow: context.callFlow,
      via: context.via,
      dialed: context.dialed,
    } as const;

    if (!found) {
      if (admission.kind === "code_or_adhoc" && isAdhocCode(code)) {
        return {
          ...base,
          meetingKey: `adhoc:${context.accountSid}:${code}`,
          role: admission.adhocRole,
          meetingRoomSid: null,
          attributes: context.attributes,
          sources: context.sources,
        } satisfies JoinDecision;
      }
      return refuse("unknown_code");
    }

    const room = found.meetingRoom;
    if (room.didGroupSid !== null) {
      const groupOfCall = context.via.kind === "did" ? context.via.didGroupSid : null;
      if (groupOfCall !== room.didGroupSid) return refuse("room_not_reachable");
    }
    const { levels } = context;
    const resolved = resolve({
      account: levels.account,
      didGroup: levels.didGroup,
      did: levels.did,
      meetingRoom: room,
      viaPrefix: context.via.kind === "prefix",
    });
    if (!resolved.ok) return refuse("no_call_flow");
    return {
      ...base,
      meetingKey: `room:${room.sid}`,
      role: found.role,
      meetingRoomSid: room.sid,
      attributes: resolved.value.attributes,
      sources: resolved.value.sources,
    } satisfies JoinDecision;
  }

  let closed = false;
  let unsubscribe: Unsubscribe | null = null;
  let ready: Promise<void> = Promise.resolve();
  if (options.subscribe) {
    const sub = options.subscribe((scope) => invalidate(parseInvalidation(scope)));
    if (typeof sub === "function") {
      unsubscribe = sub;
    } else {
      caching = false;
      ready = sub.then((u) => {
        if (closed) {
          u();
          return;
        }
        unsubscribe = u;
        caching = true;
        invalidate({ kind: "all" });
      });
      // The failure is reported through `ready`; nobody has to await it.
      ready.catch(() => {});
    }
  }

  return {
    route,
    admit,
    invalidate,
    ready,
    close() {
      closed = true;
      const u = unsubscribe;
      unsubscribe = null;
      u?.();
    },
  };
}
