import type { ThreadLink } from "@conf/thread-link";
import { Redis } from "ioredis";
import { LinkTransport } from "./link.ts";
import {
  defaultErrorSink,
  type ErrorSink,
  jsonHandler,
  MemoryTransport,
  RedisTransport,
  type SubscriptionHealth,
  type Transport,
} from "./pubsub.ts";
import type { Unsubscribe } from "./types.ts";

/**
 * Publish/subscribe on named channels, values carried as JSON. Used for config-cache
 * invalidation between the API and every access-router instance.
 * @example
 * await bus.subscribe("config:invalidate", (m) => cache.invalidate(m));
 * await bus.publish("config:invalidate", { kind: "account", accountSid });
 */
export interface Bus {
  /**
   * Sends `message` (anything JSON can carry) to every subscriber of `channel`.
   * Resolves to the number of subscribers reached (for Redis: subscribed connections).
   */
  publish(channel: string, message: unknown): Promise<number>;
  /**
   * Calls `handler` with each message published on `channel` from now on (the promise
   * resolves once the subscription is active). A handler's throw or rejection goes to
   * the bus's `onError`, never to the publisher.
   */
  subscribe<T = unknown>(channel: string, handler: (message: T, channel: string) => unknown): Promise<Unsubscribe>;
  /**
   * Whether this bus's subscriptions are being delivered right now; a message published
   * while they are not is lost (Redis keeps nothing for an absent subscriber).
   */
  readonly health: SubscriptionHealth;
  /** Ends every subscription and closes connections the bus opened. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createBus}. */
export interface BusOptions {
  /** Redis server URL; unset: in-process (everything in this process with the same prefix shares it). */
  redisUrl?: string;
  /** An existing ioredis connection to publish on instead of `redisUrl` (not closed by `close()`). */
  redis?: Redis;
  /** The in-process hub of another thread of this process, served there by `serveLivePlane`. */
  link?: ThreadLink;
  /** Prefix of channel names. Default `"conf:"`. */
  prefix?: string;
  /** Where handler errors and unreadable messages go. Default: `console.error`. */
  onError?: ErrorSink;
  /** Timeouts of the connection opened for `redisUrl`. */
  timeouts?: RedisTimeouts;
}

/** The default prefix of keys and channels. */
export const DEFAULT_PREFIX = "conf:";

/** How long Redis may take before a command fails, so no caller ever hangs on it. */
export interface RedisTimeouts {
  /** A command (queued or sent) fails after this many ms without an answer. Default 1000. */
  commandTimeoutMs?: number;
  /** A connection attempt gives up after this many ms. Default 2000. */
  connectTimeoutMs?: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** The longest pause between reconnection attempts, ms. */
const MAX_RECONNECT_DELAY_MS = 500;

/** Opens an ioredis connection with the settings the store relies on. */
export function connectRedis(url: string, timeouts: RedisTimeouts = {}): Redis {
  const r = new Redis(url, {
    // Auto-pipelining batches commands issued in the same tick into one write: it is what
    // keeps 200 concurrent joins from costing 200 separate socket writes.
    enableAutoPipelining: true,
    // Every command fails within the timeout, whether Redis is down (the command waits in
    // the offline queue), frozen (sent, never answered) or slow: an API request answers
    // 503 in bounded time instead of hanging, and a mixer's background write gives up.
    commandTimeout: timeouts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: timeouts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // The offline queue stays (commands issued while the first connection is being made
    // must wait for it), but each failed reconnection flushes it with an error: a command
    // that already timed out for its caller is not run minutes later when Redis returns.
    maxRetriesPerRequest: 1,
    // Reconnect soon after Redis is back: a restarted Redis is found empty, and the
    // mixers restore their meetings on reconnect (store.ts), so the gap stays short.
    retryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
  });
  r.on("error", () => {});
  return r;
}

class TransportBus implements Bus {
  #transport: Transport;
  #prefix: string;
  #onError: ErrorSink;
  #owned: Redis | null;
  #closed = false;

  constructor(transport: Transport, prefix: string, onError: ErrorSink, owned: Redis | null) {
    this.#transport = transport;
    this.#prefix = prefix;
    this.#onError = onError;
    this.#owned = owned;
  }

  get health(): SubscriptionHealth {
    return this.#transport.health;
  }

  publish(channel: string, message: unknown): Promise<number> {
    return this.#transport.publish(`${this.#prefix}bus:${channel}`, JSON.stringify(message));
  }

  subscribe<T = unknown>(channel: string, handler: (message: T, channel: string) => unknown): Promise<Unsubscribe> {
    return this.#transport.subscribe(
      `${this.#prefix}bus:${channel}`,
      jsonHandler<T>((m) => handler(m, channel), this.#onError),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#transport.close();
    if (this.#owned) await this.#owned.quit().catch(() => this.#owned?.disconnect());
  }
}

/**
 * Creates a {@link Bus}: Redis pub/sub when `redisUrl` (or `redis`) is given, else the
 * in-process hub.
 * @example
 * const bus = createBus({ redisUrl: process.env.REDIS_URL });
 * const stop = await bus.subscribe<{ kind: string }>("config:invalidate", (m) => cache.invalidate(m));
 * await bus.publish("config:invalidate", { kind: "all" });
 * await stop(); await bus.close();
 */
export function createBus(options: BusOptions = {}): Bus {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const onError = options.onError ?? defaultErrorSink;
  if (options.redis) return new TransportBus(new RedisTransport(options.redis), prefix, onError, null);
  if (options.redisUrl) {
    const r = connectRedis(options.redisUrl, options.timeouts);
    return new TransportBus(new RedisTransport(r), prefix, onError, r);
  }
  if (options.link) return new TransportBus(new LinkTransport(options.link), prefix, onError, null);
  return new TransportBus(new MemoryTransport(), prefix, onError, null);
}
