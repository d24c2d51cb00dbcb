/**
 * Pub/sub transports under the control channel, the event stream and the generic Bus:
 * Redis PUBLISH/SUBSCRIBE (a separate subscriber connection, created on first
 * subscribe) or an in-process hub shared by everything in this process.
 */
import type { Redis } from "ioredis";
import { rethrowUnavailable } from "./errors.ts";
import type { Unsubscribe } from "./types.ts";

/** Receives errors that must not escape (a handler that threw, an unreadable message). */
export type ErrorSink = (err: unknown) => void;

export const defaultErrorSink: ErrorSink = (err) => {
  console.error("[session-store]", err);
};

/** Calls `fn` so that neither a throw nor a rejected promise escapes into the delivery loop. */
export function safeCall(fn: () => unknown, onError: ErrorSink): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch(onError);
  } catch (err) {
    onError(err);
  }
}

/**
 * Whether subscriptions currently receive every message published to them. Pub/sub
 * keeps nothing for a subscriber that is away: a message published while `live` is
 * false is lost, so whatever is kept up to date by messages (a cache dropped by
 * invalidations) cannot be trusted across such a gap.
 * @example
 * const stop = bus.health.watch((live) => (live ? cache.resume() : cache.suspend()));
 */
export interface SubscriptionHealth {
  /**
   * True while subscriptions are delivered: in-process always (until closed); on Redis
   * while the subscriber connection is up and every channel is confirmed subscribed on
   * it (after a reconnect, once the channels are subscribed again). False before the
   * first subscription and after `close()`.
   */
  readonly live: boolean;
  /** Calls `fn` with the new value each time `live` changes; returns the function that stops it. */
  watch(fn: (live: boolean) => void): () => void;
}

/** The state behind a {@link SubscriptionHealth}: a flag and its watchers. */
export class Health implements SubscriptionHealth {
  #live: boolean;
  #watchers = new Set<(live: boolean) => void>();
  #onError: ErrorSink;

  constructor(live: boolean, onError: ErrorSink = defaultErrorSink) {
    this.#live = live;
    this.#onError = onError;
  }

  get live(): boolean {
    return this.#live;
  }

  set(live: boolean): void {
    if (live === this.#live) return;
    this.#live = live;
    for (const fn of [...this.#watchers]) safeCall(() => fn(live), this.#onError);
  }

  watch(fn: (live: boolean) => void): () => void {
    this.#watchers.add(fn);
    return () => {
      this.#watchers.delete(fn);
    };
  }
}

/** A raw string pub/sub. */
export interface Transport {
  /** Whether this transport's subscriptions are being delivered. */
  readonly health: SubscriptionHealth;
  /** Resolves to the number of subscribers reached (Redis counts connections). */
  publish(channel: string, payload: string): Promise<number>;
  /** Resolves once the subscription is active, so later publishes reach it. */
  subscribe(channel: string, fn: (payload: string) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

// One hub per process: channel names carry the prefix, so distinct prefixes never meet,
// and two stores (or buses) with the same prefix in one process talk as they would
// through one Redis server.
const hub = new Map<string, Set<(payload: string) => void>>();

/** In-process transport: delivery is asynchronous (a microtask), in publish order. */
export class MemoryTransport implements Transport {
  #mine = new Set<{ channel: string; fn: (payload: string) => void }>();
  #closed = false;
  // Nothing between publisher and subscriber can fail in one process.
  readonly #health = new Health(true);

  get health(): SubscriptionHealth {
    return this.#health;
  }

  async publish(channel: string, payload: string): Promise<number> {
    const subs = hub.get(channel);
    if (!subs || subs.size === 0) return 0;
    const targets = [...subs];
    queueMicrotask(() => {
      for (const fn of targets) fn(payload);
    });
    return targets.length;
  }

  async subscribe(channel: string, fn: (payload: string) => void): Promise<Unsubscribe> {
    if (this.#closed) throw new Error("session-store: subscribe after close");
    const entry = { channel, fn };
    let subs = hub.get(channel);
    if (!subs) hub.set(channel, (subs = new Set()));
    subs.add(fn);
    this.#mine.add(entry);
    return async () => {
      if (!this.#mine.delete(entry)) return;
      const s = hub.get(channel);
      s?.delete(fn);
      if (s && s.size === 0) hub.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#health.set(false);
    for (const { channel, fn } of this.#mine) {
      const s = hub.get(channel);
      s?.delete(fn);
      if (s && s.size === 0) hub.delete(channel);
    }
    this.#mine.clear();
  }
}

interface ChannelSubs {
  fns: Set<(payload: string) => void>;
  ready: Promise<unknown>;
}

/**
 * Redis transport. Publishes on the given (shared) connection; subscribes on its own
 * duplicate, since a connection in subscriber mode can issue nothing else. ioredis
 * re-subscribes by itself after a reconnect.
 */
export class RedisTransport implements Transport {
  #pub: Redis;
  #sub: Redis | null = null;
  #channels = new Map<string, ChannelSubs>();
  #closed = false;
  readonly #health = new Health(false);
  // Bumped each time the subscriber connection closes: a confirmation that was asked for
  // on an earlier connection says nothing about this one.
  #connection = 0;

  constructor(pub: Redis) {
    this.#pub = pub;
  }

  get health(): SubscriptionHealth {
    return this.#health;
  }

  /**
   * On every (re)connection: subscribe every channel again and wait for Redis to confirm,
   * then call the subscriptions live. ioredis re-subscribes by itself after a reconnect
   * but emits "ready" before it does; our own SUBSCRIBE, answered in order, is the proof
   * that messages flow again. Subscribing to a channel twice is a no-op in Redis.
   */
  #confirm(sub: Redis): void {
    const connection = this.#connection;
    const channels = [...this.#channels.keys()];
    const done = () => {
      if (!this.#closed && this.#sub === sub && this.#connection === connection) this.#health.set(true);
    };
    if (channels.length === 0) {
      done();
      return;
    }
    sub.subscribe(...channels).then(done, () => {
      // The connection failed again; its "close" keeps the health down until the next "ready".
    });
  }

  publish(channel: string, payload: string): Promise<number> {
    return this.#pub.publish(channel, payload).catch(rethrowUnavailable);
  }

  #subscriber(): Redis {
    if (!this.#sub) {
      // Auto-pipelining is for request/reply traffic; a subscriber connection gains nothing from it.
      const sub = this.#pub.duplicate({ enableAutoPipelining: false });
      sub.on("message", (channel: string, payload: string) => {
        const c = this.#channels.get(channel);
        if (c) for (const fn of [...c.fns]) fn(payload);
      });
      // Errors surface as reconnect attempts; without a listener ioredis logs them loudly.
      sub.on("error", () => {});
      sub.on("ready", () => this.#confirm(sub));
      sub.on("close", () => {
        this.#connection++;
        this.#health.set(false);
      });
      this.#sub = sub;
    }
    return this.#sub;
  }

  async subscribe(channel: string, fn: (payload: string) => void): Promise<Unsubscribe> {
    if (this.#closed) throw new Error("session-store: subscribe after close");
    let c = this.#channels.get(channel);
    if (!c) {
      c = { fns: new Set(), ready: this.#subscriber().subscribe(channel) };
      this.#channels.set(channel, c);
    }
    c.fns.add(fn);
    try {
      await c.ready;
    } catch (err) {
      // Redis did not confirm in time (down, or frozen): this subscription never was, so
      // a later subscribe to the channel asks again rather than awaiting this failure.
      const cur = this.#channels.get(channel);
      cur?.fns.delete(fn);
      if (cur === c && c.fns.size === 0) this.#channels.delete(channel);
      else if (cur === c) c.ready = this.#subscriber().subscribe(channel);
      rethrowUnavailable(err);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const cur = this.#channels.get(channel);
      if (!cur) return;
      cur.fns.delete(fn);
      if (cur.fns.size === 0) {
        this.#channels.delete(channel);
        if (!this.#closed && this.#sub) await this.#sub.unsubscribe(channel).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#health.set(false);
    this.#channels.clear();
    const sub = this.#sub;
    this.#sub = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}

/** Decodes a JSON payload and hands it to `fn`; a bad payload or a throwing handler goes to `onError`. */
export function jsonHandler<T>(
  fn: (value: T) => unknown,
  onError: ErrorSink,
  check: (v: unknown) => v is T = (v): v is T => true,
): (payload: string) => void {
  return (payload) => {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch (err) {
      onError(new Error(`session-store: unreadable message: ${String(err)}`));
      return;
    }
    if (!check(value)) {
      onError(new Error(`session-store: unexpected message: ${payload.slice(0, 200)}`));
      return;
    }
    safeCall(() => fn(value as T), onError);
  };
}
