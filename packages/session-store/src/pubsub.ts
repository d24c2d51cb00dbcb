/**
 * Pub/sub transports under the control channel, the event stream and the generic Bus:
 * Redis PUBLISH/SUBSCRIBE (a separate subscriber connection, created on first
 * subscribe) or an in-process hub shared by everything in this process.
 */
import { Redis } from "ioredis";
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

/** A raw string pub/sub. */
export interface Transport {
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

  constructor(pub: Redis) {
    this.#pub = pub;
  }

  publish(channel: string, payload: string): Promise<number> {
    return this.#pub.publish(channel, payload);
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
    await c.ready;
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
