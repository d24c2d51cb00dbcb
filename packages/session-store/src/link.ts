/**
 * The in-process live plane shared with another thread. The thread that owns the
 * in-process state (under `bun run start`, the API's) serves its memory backend and
 * pub/sub hub over a {@link ThreadLink}; the other thread (the mixer's) gets a Backend
 * and a Transport that forward to it. Every operation still runs start to finish on the
 * owner's thread, so the memory adapter's atomicity holds across both.
 */
import type { ThreadLink } from "@conf/thread-link";
import type { Backend } from "./backend.ts";
import { type DispatchFeed, type EventLog, type EventLogLimits, MemoryEventLog, notifyChannel } from "./event-log.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { Health, MemoryTransport, type SubscriptionHealth, type Transport } from "./pubsub.ts";
import type { Unsubscribe } from "./types.ts";

const BACKEND = "live.backend";
const PUBSUB = "live.pubsub";
const MESSAGE = "live.message";
const EVENT_LOG = "live.eventlog";

/** Backend methods forwarded over the link (`close` stays local: the owner closes its own). */
const BACKEND_METHODS = [
  "join",
  "leave",
  "enter",
  "leaveLobby",
  "getCall",
  "getMeeting",
  "getMeetingByKey",
  "listCalls",
  "listCallsPage",
  "listMeetings",
  "listCallsOfMeeting",
  "updateCall",
  "updateMeeting",
  "endMeeting",
  "renewLease",
  "epoch",
  "restore",
  "reapExpired",
  "publishToOwner",
  "publishToMeeting",
  "moveMeeting",
] as const satisfies readonly (keyof Backend)[];

// Fails to compile when Backend gains a method the list above does not forward.
type Unforwarded = Exclude<keyof Backend, (typeof BACKEND_METHODS)[number] | "close">;
const everyMethodForwarded: [Unforwarded] extends [never] ? true : Unforwarded = true;
void everyMethodForwarded;

/**
 * EventLog methods forwarded over the link. `watch` rides on the forwarded pub/sub (the
 * log notifies on a channel); `dispatch` stays with the owner: the webhook dispatcher
 * runs on the thread that serves the log.
 */
const EVENT_LOG_METHODS = ["append", "readAfter"] as const satisfies readonly (keyof EventLog)[];

// Fails to compile when EventLog gains a method the list above does not forward.
type UnforwardedLog = Exclude<keyof EventLog, (typeof EVENT_LOG_METHODS)[number] | "watch" | "dispatch">;
const everyLogMethodForwarded: [UnforwardedLog] extends [never] ? true : UnforwardedLog = true;
void everyLogMethodForwarded;

interface EventLogService {
  op(prefix: string, method: string, args: unknown[]): Promise<unknown>;
}

const FORWARDED_LOG = new Set<string>(EVENT_LOG_METHODS);

interface BackendService {
  op(prefix: string, method: string, args: unknown[]): Promise<unknown>;
}

interface PubSubService {
  publish(channel: string, payload: string): Promise<number>;
  subscribe(subId: string, channel: string): Promise<void>;
  unsubscribe(subId: string): Promise<void>;
}

const FORWARDED = new Set<string>(BACKEND_METHODS);

/** Options of {@link serveLivePlane}. */
export interface ServeLivePlaneOptions {
  /** Bounds of the event logs served (as the owner's own store has them). */
  eventLog?: EventLogLimits;
}

/**
 * Serves this thread's in-process live plane (every prefix) over `link`: the backend,
 * pub/sub and the event log. Returns the function that stops serving and drops the
 * subscriptions made through the link.
 * @example
 * const stop = serveLivePlane(new ThreadLink(worker));
 */
export function serveLivePlane(link: ThreadLink, options: ServeLivePlaneOptions = {}): () => Promise<void> {
  const transport = new MemoryTransport();
  const logs = new Map<string, MemoryEventLog>();
  const logService: EventLogService = {
    async op(prefix, method, args) {
      if (typeof prefix !== "string" || !FORWARDED_LOG.has(method))
        throw new Error(`live plane: no event log operation ${method}`);
      let log = logs.get(prefix);
      if (!log) logs.set(prefix, (log = new MemoryEventLog(prefix, options.eventLog, transport)));
      return (log[method as (typeof EVENT_LOG_METHODS)[number]] as (...a: unknown[]) => unknown).apply(log, args);
    },
  };
  link.expose(EVENT_LOG, logService);
  const backends = new Map<string, MemoryBackend>();
  const subs = new Map<string, Unsubscribe>();
  const service: BackendService = {
    async op(prefix, method, args) {
      if (typeof prefix !== "string" || !FORWARDED.has(method)) throw new Error(`live plane: no operation ${method}`);
      let backend = backends.get(prefix);
      if (!backend) backends.set(prefix, (backend = new MemoryBackend(prefix, transport)));
      return (backend[method as (typeof BACKEND_METHODS)[number]] as (...a: unknown[]) => unknown).apply(backend, args);
    },
  };
  link.expose(BACKEND, service);
  const pubsub: PubSubService = {
    publish: (channel, payload) => transport.publish(channel, payload),
    async subscribe(subId, channel) {
      if (subs.has(subId)) return;
      subs.set(subId, await transport.subscribe(channel, (payload) => link.push(MESSAGE, [subId, payload])));
    },
    async unsubscribe(subId) {
      const stop = subs.get(subId);
      subs.delete(subId);
      await stop?.();
    },
  };
  link.expose(PUBSUB, pubsub);
  return async () => {
    for (const stop of subs.values()) await stop();
    subs.clear();
    await transport.close();
    for (const backend of backends.values()) await backend.close();
    backends.clear();
  };
}

/** A Backend of `prefix` whose operations run on the thread serving the live plane. */
export function linkBackend(link: ThreadLink, prefix: string): Backend {
  const remote = link.proxy<BackendService>(BACKEND, ["op"]);
  const out: Record<string, unknown> = { close: async () => {} };
  for (const m of BACKEND_METHODS) out[m] = (...args: unknown[]) => remote.op(prefix, m, args);
  return out as unknown as Backend;
}

/** The event log of `prefix` on the thread serving the live plane; notifications come through `transport`. */
export function linkEventLog(link: ThreadLink, prefix: string, transport: Transport): EventLog {
  const remote = link.proxy<EventLogService>(EVENT_LOG, ["op"]);
  const unavailable = async (): Promise<never> => {
    throw new Error("session-store: the webhook dispatcher runs on the thread that serves the event log");
  };
  const dispatch: DispatchFeed = { take: unavailable, ack: unavailable };
  return {
    append: (event) => remote.op(prefix, "append", [event]) as Promise<string>,
    readAfter: (accountSid, afterId, limit) =>
      remote.op(prefix, "readAfter", [accountSid, afterId, limit]) as ReturnType<EventLog["readAfter"]>,
    watch: (accountSid, fn) => transport.subscribe(notifyChannel(prefix, accountSid), () => fn()),
    dispatch,
  };
}

let transportCount = 0;

/** Pub/sub through the hub of the thread serving the live plane. */
export class LinkTransport implements Transport {
  // Delivery over a link does not come and go: live from the first subscription until closed.
  readonly #health = new Health(false);
  #link: ThreadLink;
  #closed = false;
  #remote: PubSubService;
  #id = `${process.pid}.${++transportCount}.${crypto.randomUUID().slice(0, 8)}`;
  #next = 0;
  #fns = new Map<string, (payload: string) => void>();
  #stopPush: () => void;

  constructor(link: ThreadLink) {
    this.#link = link;
    this.#remote = link.proxy<PubSubService>(PUBSUB, ["publish", "subscribe", "unsubscribe"]);
    this.#stopPush = link.onPush(MESSAGE, (m) => {
      if (!Array.isArray(m) || typeof m[0] !== "string" || typeof m[1] !== "string") return;
      this.#fns.get(m[0])?.(m[1]);
    });
  }

  get health(): SubscriptionHealth {
    return this.#health;
  }

  publish(channel: string, payload: string): Promise<number> {
    return this.#remote.publish(channel, payload);
  }

  async subscribe(channel: string, fn: (payload: string) => void): Promise<Unsubscribe> {
    const subId = `${this.#id}.${++this.#next}`;
    this.#fns.set(subId, fn);
    if (this.#closed) throw new Error("session-store: subscribe after close");
    await this.#remote.subscribe(subId, channel);
    this.#health.set(true);
    return async () => {
      if (!this.#fns.delete(subId)) return;
      if (!this.#link.closed) await this.#remote.unsubscribe(subId).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#health.set(false);
    this.#stopPush();
    const ids = [...this.#fns.keys()];
    this.#fns.clear();
    if (!this.#link.closed) await Promise.all(ids.map((id) => this.#remote.unsubscribe(id).catch(() => {})));
  }
}
