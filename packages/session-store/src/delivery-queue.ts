/**
 * Webhook deliveries waiting for their (next) try: a Redis sorted set of due times with
 * the deliveries in a hash, shared by every API process, or an in-process queue on the
 * embedded default. A claimed delivery is leased (moved to now + lease), so a process
 * that dies while sending leaves it to be claimed again: at least once, never lost.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { connectRedis, DEFAULT_PREFIX, type RedisTimeouts } from "./bus.ts";
import { rethrowUnavailable } from "./errors.ts";

/** One event for one webhook. */
export interface Delivery {
  /** `<webhook_sid>|<event id>`: enqueueing the same twice is a no-op. */
  readonly id: string;
  readonly webhookSid: string;
  readonly accountSid: string;
  /** The exact body to POST (signed as sent). */
  readonly body: string;
  /** Tries made so far. */
  readonly attempt: number;
  /** When it was first queued, ms since the epoch (retries stop a while after). */
  readonly firstAt: number;
}

/** Bounds of a queue. */
export interface DeliveryQueueLimits {
  /** Deliveries waiting at most, all webhooks. Default 100000. */
  maxTotal?: number;
  /** Deliveries waiting for one webhook at most. Default 1000. */
  maxPerWebhook?: number;
}

export type EnqueueResult = "queued" | "duplicate" | "full";

/**
 * @example
 * await queue.enqueue({ id: `${wh}|${eventId}`, webhookSid: wh, accountSid, body, attempt: 0, firstAt: now }, now);
 * for (const d of await queue.claim(Date.now(), 10, 30_000)) { ... await queue.done(d.id) or queue.retry({ ...d, attempt: d.attempt + 1 }, next) }
 */
export interface DeliveryQueue {
  /** Queues `d` due at `dueAt`; "full" when a bound is reached (it is dropped). */
  enqueue(d: Delivery, dueAt: number): Promise<EnqueueResult>;
  /** Up to `max` deliveries due by `now`, each leased until `now + leaseMs`. */
  claim(now: number, max: number, leaseMs: number): Promise<Delivery[]>;
  /** Delivered, or given up: removed. */
  done(d: Delivery): Promise<void>;
  /** Try again at `dueAt`, with `d` as it is now (its attempt count). */
  retry(d: Delivery, dueAt: number): Promise<void>;
  /** Deliveries waiting. */
  size(): Promise<number>;
}

const limitsOf = (l: DeliveryQueueLimits) => ({ maxTotal: l.maxTotal ?? 100_000, maxPerWebhook: l.maxPerWebhook ?? 1000 });

interface MemQueueState {
  jobs: Map<string, { d: Delivery; due: number }>;
  perWebhook: Map<string, number>;
}
const memQueues = new Map<string, MemQueueState>();

/** The in-process queue (shared by everything in this process with the same prefix). */
export class MemoryDeliveryQueue implements DeliveryQueue {
  readonly #s: MemQueueState;
  readonly #limits: ReturnType<typeof limitsOf>;

  constructor(prefix: string, limits: DeliveryQueueLimits = {}) {
    let s = memQueues.get(prefix);
    if (!s) memQueues.set(prefix, (s = { jobs: new Map(), perWebhook: new Map() }));
    this.#s = s;
    this.#limits = limitsOf(limits);
  }

  async enqueue(d: Delivery, dueAt: number): Promise<EnqueueResult> {
    const s = this.#s;
    if (s.jobs.has(d.id)) return "duplicate";
    const n = s.perWebhook.get(d.webhookSid) ?? 0;
    if (s.jobs.size >= this.#limits.maxTotal || n >= this.#limits.maxPerWebhook) return "full";
    s.jobs.set(d.id, { d, due: dueAt });
    s.perWebhook.set(d.webhookSid, n + 1);
    return "queued";
  }

  async claim(now: number, max: number, leaseMs: number): Promise<Delivery[]> {
    const due = [...this.#s.jobs.values()]
      .filter((j) => j.due <= now)
      .sort((a, b) => a.due - b.due)
      .slice(0, max);
    for (const j of due) j.due = now + leaseMs;
    return due.map((j) => j.d);
  }

  async done(d: Delivery): Promise<void> {
    if (!this.#s.jobs.delete(d.id)) return;
    const n = (this.#s.perWebhook.get(d.webhookSid) ?? 1) - 1;
    if (n <= 0) this.#s.perWebhook.delete(d.webhookSid);
    else this.#s.perWebhook.set(d.webhookSid, n);
  }

  async retry(d: Delivery, dueAt: number): Promise<void> {
    const j = this.#s.jobs.get(d.id);
    if (j) {
      j.d = d;
      j.due = dueAt;
    }
  }

  async size(): Promise<number> {
    return this.#s.jobs.size;
  }
}

// KEYS: due (zset), jobs (hash), counts (hash)
const ENQUEUE_LUA = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'duplicate' end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then return 'full' end
if tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0') >= tonumber(ARGV[6]) then return 'full' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return 'queued'
`;
const CLAIM_LUA = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[2], id)
  if v then
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = v
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`;
const DONE_LUA = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
end
return 1
`;
const RETRY_LUA = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`;

const script = (lua: string) => ({ lua, sha: createHash("sha1").update(lua).digest("hex") });
const SCRIPTS = { enqueue: script(ENQUEUE_LUA), claim: script(CLAIM_LUA), done: script(DONE_LUA), retry: script(RETRY_LUA) };

function parseDelivery(raw: unknown): Delivery | null {
  if (typeof raw !== "string") return null;
  try {
    const d = JSON.parse(raw) as Delivery;
    return typeof d.id === "string" && typeof d.webhookSid === "string" && typeof d.body === "string" ? d : null;
  } catch {
    return null;
  }
}

/** The Redis queue: `{prefix}wh:due`, `{prefix}wh:jobs`, `{prefix}wh:count`. */
export class RedisDeliveryQueue implements DeliveryQueue {
  readonly #redis: Redis;
  readonly #keys: [string, string, string];
  readonly #limits: ReturnType<typeof limitsOf>;

  constructor(redis: Redis, prefix: string, limits: DeliveryQueueLimits = {}) {
    this.#redis = redis;
    this.#keys = [`${prefix}wh:due`, `${prefix}wh:jobs`, `${prefix}wh:count`];
    this.#limits = limitsOf(limits);
  }

  async #run(name: keyof typeof SCRIPTS, args: (string | number)[]): Promise<unknown> {
    const s = SCRIPTS[name];
    try {
      return await this.#redis.evalsha(s.sha, 3, ...this.#keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT"))
        return this.#redis.eval(s.lua, 3, ...this.#keys, ...args).catch(rethrowUnavailable);
      return rethrowUnavailable(err);
    }
  }

  async enqueue(d: Delivery, dueAt: number): Promise<EnqueueResult> {
    return (await this.#run("enqueue", [
      d.id,
      d.webhookSid,
      JSON.stringify(d),
      dueAt,
      this.#limits.maxTotal,
      this.#limits.maxPerWebhook,
    ])) as EnqueueResult;
  }

  async claim(now: number, max: number, leaseMs: number): Promise<Delivery[]> {
    const raw = (await this.#run("claim", [now, max, now + leaseMs])) as unknown[];
    return raw.map(parseDelivery).filter((d): d is Delivery => d !== null);
  }

  async done(d: Delivery): Promise<void> {
    await this.#run("done", [d.id, d.webhookSid]);
  }

  async retry(d: Delivery, dueAt: number): Promise<void> {
    await this.#run("retry", [d.id, JSON.stringify(d), dueAt]);
  }

  async size(): Promise<number> {
    return this.#redis.hlen(this.#keys[1]).catch(rethrowUnavailable);
  }
}

/** Options of {@link createDeliveryQueue}. */
export interface DeliveryQueueOptions {
  /** Redis server URL; unset: in-process. */
  redisUrl?: string;
  /** Prefix of the keys. Default `"conf:"`. */
  prefix?: string;
  limits?: DeliveryQueueLimits;
  timeouts?: RedisTimeouts;
}

/**
 * The webhook delivery queue on Redis (its own connection) or in process.
 * @example const { queue, close } = createDeliveryQueue({ redisUrl: env.REDIS_URL, prefix: "conf:" });
 */
export function createDeliveryQueue(options: DeliveryQueueOptions = {}): { queue: DeliveryQueue; close(): Promise<void> } {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (options.redisUrl) {
    const redis = connectRedis(options.redisUrl, options.timeouts);
    return {
      queue: new RedisDeliveryQueue(redis, prefix, options.limits),
      close: async () => void (await redis.quit().catch(() => redis.disconnect())),
    };
  }
  return { queue: new MemoryDeliveryQueue(prefix, options.limits), close: async () => {} };
}
