/**
 * Makes guessing access codes not pay. Wrong codes are counted under a key the caller
 * cannot choose: the source address of a caller that reaches us directly, or, for
 * calls through the operator's trusted carrier/SBC addresses (which carry everyone's
 * calls and so must never be refused as a whole), the calling number the carrier
 * asserts. Past half the limit each further code check is slowed down; at the limit
 * the key is refused for a while, right code or not. The number dialed gets a ceiling
 * too: a spree spread over many sources slows every code check on that number down,
 * but never refuses anyone.
 *
 * The counts live in Redis when there is one, so every node sees the same guesses;
 * each node also keeps its own in memory and falls back to it when Redis is slow or
 * down (a guess limiter must never be what stops calls).
 */
import { parseAddressEntry } from "@conf/config";
import { BlockList, isIP } from "node:net";
import { Redis } from "ioredis";

export interface GuessLimits {
  /** Wrong codes under one key (source or trusted caller number) before it is refused. */
  limit: number;
  /** How long a refused key stays refused, ms. */
  banMs: number;
  /** Wrong codes are counted in windows of this long, ms. */
  windowMs: number;
  /** Wrong codes on one number dialed, per window, past which its code checks are slowed. */
  didLimit: number;
  /** The pause before each code check on a number past `didLimit`, ms. */
  didDelayMs: number;
}

export const DEFAULT_GUESS_LIMITS: GuessLimits = {
  limit: 10,
  banMs: 600_000,
  windowMs: 600_000,
  didLimit: 100,
  didDelayMs: 3000,
};

/** Longest pause the per-key slow-down adds, ms. */
const MAX_KEY_DELAY_MS = 10_000;

export type GuessVerdict = { kind: "allow"; delayMs: number } | { kind: "refuse"; retryAfterMs: number };

/** Under what the guesses of one call are counted. */
export interface GuessKeys {
  /** `src:<address>` for direct callers, `num:<number>` for calls through a trusted source. */
  readonly key: string;
  /** `did:<number dialed>`, or null when the INVITE named none. */
  readonly did: string | null;
}

/** What a store knows about one call's keys. */
export interface GuessCounts {
  wrong: number;
  bannedMs: number;
  didWrong: number;
}

/** Where the counts are kept. */
export interface GuessStore {
  read(keys: GuessKeys, limits: GuessLimits): Promise<GuessCounts>;
  /** Counts one wrong code; true when it reached the limit (the key is now refused). */
  addWrong(keys: GuessKeys, limits: GuessLimits): Promise<boolean>;
  close(): Promise<void>;
}

/** Operator addresses (carriers, SBCs) whose calls are keyed by calling number, not by address. */
export class TrustedSources {
  private readonly list = new BlockList();
  readonly size: number;

  /** `entries`: IPv4/IPv6 addresses and CIDRs; throws on a malformed one. */
  constructor(entries: readonly string[]) {
    let n = 0;
    for (const raw of entries) {
      const entry = raw.trim();
      if (!entry) continue;
      const r = parseAddressEntry(entry);
      if (!r.ok) throw new Error(r.error);
      const { address, prefix, family } = r.value;
      const type = family === 4 ? "ipv4" : "ipv6";
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, prefix, type);
      n++;
    }
    this.size = n;
  }

  /** Parses SIP_TRUSTED_SOURCES: comma-separated addresses and CIDRs. */
  static parse(text: string | undefined): TrustedSources {
    return new TrustedSources((text ?? "").split(","));
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}

/**
 * The keys of a call: its source address, unless that is a trusted carrier, whose
 * callers are told apart by the number it asserts (P-Asserted-Identity, else From).
 * Anonymous callers through a carrier share one key per carrier address: only they
 * can be refused together.
 */
export function guessKeys(
  call: { sourceAddress: string; callerNumber: string | null; assertedNumber: string | null; dialed: string | null },
  trusted: TrustedSources,
): GuessKeys {
  const did = call.dialed ? `did:${call.dialed}` : null;
  if (!trusted.has(call.sourceAddress)) return { key: `src:${call.sourceAddress}`, did };
  const number = call.assertedNumber || call.callerNumber;
  return { key: number ? `num:${number}` : `anon:${call.sourceAddress}`, did };
}

interface MemoryEntry {
  count: number;
  windowEnd: number;
  bannedUntil: number;
}

/** Counts in this process; bounded, the oldest keys forgotten first. */
export class MemoryGuessStore implements GuessStore {
  private readonly entries = new Map<string, MemoryEntry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  private live(key: string): MemoryEntry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const t = this.now();
    if (e.windowEnd <= t) e.count = 0;
    if (e.count === 0 && e.bannedUntil <= t) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  async read(keys: GuessKeys): Promise<GuessCounts> {
    return this.readNow(keys);
  }

  readNow(keys: GuessKeys): GuessCounts {
    const e = this.live(keys.key);
    const t = this.now();
    return {
      wrong: e?.count ?? 0,
      bannedMs: e && e.bannedUntil > t ? e.bannedUntil - t : 0,
      didWrong: keys.did ? (this.live(keys.did)?.count ?? 0) : 0,
    };
  }

  private bump(key: string, windowMs: number): MemoryEntry {
    const t = this.now();
    let e = this.live(key);
    if (!e) {
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
      e = { count: 0, windowEnd: t + windowMs, bannedUntil: 0 };
      this.entries.set(key, e);
    }
    if (e.count === 0) e.windowEnd = t + windowMs;
    e.count++;
    return e;
  }

  async addWrong(keys: GuessKeys, limits: GuessLimits): Promise<boolean> {
    return this.addWrongNow(keys, limits);
  }

  addWrongNow(keys: GuessKeys, limits: GuessLimits): boolean {
    const e = this.bump(keys.key, limits.windowMs);
    if (keys.did) this.bump(keys.did, limits.windowMs);
    if (e.count < limits.limit) return false;
    e.bannedUntil = this.now() + limits.banMs;
    e.count = 0;
    return true;
  }

  async close(): Promise<void> {}
}

// One round trip each, atomic: the count, its window and the ban move together.
const READ_SCRIPT = `
local w = tonumber(redis.call('GET', KEYS[1]) or '0')
local b = redis.call('PTTL', KEYS[2])
local d = 0
if ARGV[1] == '1' then d = tonumber(redis.call('GET', KEYS[3]) or '0') end
return {w, b, d}`;
const WRONG_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if ARGV[4] == '1' then
  local d = redis.call('INCR', KEYS[3])
  if d == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/** Counts in Redis, shared by every node; each operation fails after `timeoutMs`. */
export class RedisGuessStore implements GuessStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly timeoutMs = 250,
  ) {
    this.redis = new Redis(url, {
      // Down means fail open now, not queue commands until it is back.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeoutMs,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    // Reconnects are the retry strategy's business; without a listener ioredis logs each.
    this.redis.on("error", () => {});
  }

  private names(keys: GuessKeys): string[] {
    const p = `${this.prefix}guess:`;
    return [`${p}${keys.key}`, `${p}ban:${keys.key}`, `${p}${keys.did ?? "did:"}`];
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("redis timeout")), this.timeoutMs);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  async read(keys: GuessKeys): Promise<GuessCounts> {
    const r = (await this.bounded(this.redis.eval(READ_SCRIPT, 3, ...this.names(keys), keys.did ? "1" : "0"))) as number[];
    const [wrong = 0, ban = -2, didWrong = 0] = r;
    return { wrong, bannedMs: ban > 0 ? ban : 0, didWrong };
  }

  async addWrong(keys: GuessKeys, limits: GuessLimits): Promise<boolean> {
    const r = await this.bounded(
      this.redis.eval(
        WRONG_SCRIPT,
        3,
        ...this.names(keys),
        String(limits.windowMs),
        String(limits.limit),
        String(limits.banMs),
        keys.did ? "1" : "0",
      ),
    );
    return r === 1;
  }

  /** Resolves once connected (until then every operation fails open), or after `ms`. */
  ready(ms = 2000): Promise<boolean> {
    if (this.redis.status === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.redis.on("ready", onReady);
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * The limiter the IVR asks before each code check and tells of each wrong code.
 * A right code does not clear the count: one who knows any code (their own meeting's)
 * could otherwise reset the count between guesses.
 */
export class GuessLimiter {
  readonly limits: GuessLimits;
  /** Wrong codes this node was told of since it started (for metrics). */
  wrongCount = 0;
  private readonly memory: MemoryGuessStore;

  constructor(
    limits: Partial<GuessLimits> = {},
    private readonly shared: GuessStore | null = null,
    options: { now?: () => number; onStoreError?: (err: unknown) => void } = {},
  ) {
    this.limits = { ...DEFAULT_GUESS_LIMITS, ...limits };
    this.memory = new MemoryGuessStore(options.now);
    this.onStoreError = options.onStoreError ?? (() => {});
  }

  private readonly onStoreError: (err: unknown) => void;

  /** Before checking a code: may this call try now, and after what pause? */
  async check(keys: GuessKeys): Promise<GuessVerdict> {
    let c = this.memory.readNow(keys);
    if (this.shared) {
      try {
        const s = await this.shared.read(keys, this.limits);
        // This node's own counts are part of the shared ones unless Redis lost them
        // (restart, eviction): the stricter of the two holds.
        c = {
          wrong: Math.max(c.wrong, s.wrong),
          bannedMs: Math.max(c.bannedMs, s.bannedMs),
          didWrong: Math.max(c.didWrong, s.didWrong),
        };
      } catch (err) {
        this.onStoreError(err);
      }
    }
    return this.verdict(c);
  }

  verdict(c: GuessCounts): GuessVerdict {
    const l = this.limits;
    if (c.bannedMs > 0) return { kind: "refuse", retryAfterMs: c.bannedMs };
    const soft = Math.ceil(l.limit / 2);
    // Past half the limit, each wrong code costs one more second before the next check.
    let delayMs = c.wrong >= soft ? Math.min(MAX_KEY_DELAY_MS, (c.wrong - soft + 1) * 1000) : 0;
    if (c.didWrong >= l.didLimit) delayMs = Math.max(delayMs, l.didDelayMs);
    return { kind: "allow", delayMs };
  }

  /** A wrong code was entered; true when this one reached the limit (the key is now refused). */
  async wrong(keys: GuessKeys): Promise<boolean> {
    this.wrongCount++;
    const local = this.memory.addWrongNow(keys, this.limits);
    if (!this.shared) return local;
    try {
      return (await this.shared.addWrong(keys, this.limits)) || local;
    } catch (err) {
      this.onStoreError(err);
      return local;
    }
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }
}
