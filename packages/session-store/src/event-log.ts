/**
 * The public event log: what happened in an account's meetings, in the API's event
 * shape (`meeting.started`, `call.joined`, ...), kept for a while so that a client that
 * reconnects (SSE `Last-Event-ID`) misses nothing, and fed to the webhook dispatcher.
 * Redis Streams (one stream per account, `{prefix}evlog:{account_sid}`, plus one
 * dispatch stream read by a consumer group) or an in-process log shared by everything
 * in this process with the same prefix (the embedded default; the mixer's thread
 * reaches the API thread's log over the thread link, link.ts).
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { rethrowUnavailable } from "./errors.ts";
import { MemoryTransport, type Transport } from "./pubsub.ts";
import type { LiveCall, Meeting, SessionEvent, Unsubscribe } from "./types.ts";

/** Every public event type, in the order a meeting's life goes through them. */
export const PUBLIC_EVENT_TYPES = [
  "meeting.started",
  "meeting.updated",
  "meeting.ended",
  "call.entered",
  "call.joined",
  "call.updated",
  "call.left",
  "talker.started",
  "talker.stopped",
] as const;
export type PublicEventType = (typeof PUBLIC_EVENT_TYPES)[number];

/**
 * The types a mixer node records itself (the store records the others from its own
 * operations: `call.entered` from `enter`, with the Call object GET returns).
 */
export const NODE_EVENT_TYPES = ["talker.started", "talker.stopped"] as const satisfies readonly PublicEventType[];
export type NodeEventType = (typeof NODE_EVENT_TYPES)[number];

/**
 * One event as clients get it (SSE `data:`, webhook body), without its id. `data` is the
 * Call (call.*, talker.*) or Meeting (meeting.*) object as GET returns it.
 */
export interface PublicEvent {
  type: PublicEventType;
  /** When it happened, ISO 8601. */
  date_created: string;
  account_sid: string;
  /** Null for a call still at the access-code prompt (call.entered, and call.left of a call that never joined). */
  meeting_sid: string | null;
  /** Null for meeting events. */
  call_sid: string | null;
  data: LiveCall | Meeting | Record<string, unknown>;
  /** call.updated / meeting.updated: the fields that changed, with their new values. */
  changes?: Record<string, unknown>;
  /** meeting.ended: last_left, ended or lease_expired. */
  reason?: string;
}

/** An event as the log returns it. */
export interface LoggedEvent {
  /** Opaque, increasing within an account: `<ms>-<seq>`. */
  readonly id: string;
  readonly type: PublicEventType;
  readonly accountSid: string;
  readonly meetingSid: string | null;
  /** The event as JSON, with `event_id` first (what SSE and webhooks send). */
  readonly json: string;
}

/** Retention and bounds of a log. */
export interface EventLogLimits {
  /** Events kept per account at most (newest first). Default 10000. */
  maxEvents?: number;
  /** Events older than this are dropped, ms. Default 3600000 (one hour). */
  retentionMs?: number;
  /** Entries waiting for the webhook dispatcher at most (older ones dropped). Default 10000. */
  dispatchBacklog?: number;
}

export const DEFAULT_EVENT_LOG_MAX_EVENTS = 10_000;
export const DEFAULT_EVENT_LOG_RETENTION_MS = 3_600_000;
export const DEFAULT_EVENT_DISPATCH_BACKLOG = 10_000;

/** A dispatch entry: the event and the id to ack it by. */
export interface DispatchEntry extends LoggedEvent {
  readonly dispatchId: string;
}

/**
 * The dispatcher's side of the log: every event of every account, each handed to one
 * consumer of all those reading (several API processes share the work), until acked.
 * Entries are kept only once a dispatcher has asked for them (a Redis consumer group
 * created on first use; in process, from the first `take`).
 */
export interface DispatchFeed {
  /** Up to `max` entries for `consumer`: first those another consumer took and left unacked for `reclaimAfterMs`, then new ones. */
  take(consumer: string, max: number, reclaimAfterMs: number): Promise<DispatchEntry[]>;
  /** Done with these (by `dispatchId`). */
  ack(ids: readonly string[]): Promise<void>;
}

/**
 * An append-only, bounded log of public events per account.
 * @example
 * const id = await log.append(event);
 * const missed = await log.readAfter(accountSid, lastEventId, 100);
 * const stop = await log.watch(accountSid, () => wakeReader());
 */
export interface EventLog {
  /** Appends `event` to its account's log; resolves to its id. */
  append(event: PublicEvent): Promise<string>;
  /** Up to `limit` events of the account after `afterId` (null: from the oldest kept), oldest first. */
  readAfter(accountSid: string, afterId: string | null, limit: number): Promise<LoggedEvent[]>;
  /**
   * Calls `fn` (no argument: read with `readAfter`) after events of the account are
   * appended from now on. Notifications may be merged or, across a Redis reconnection,
   * lost: a reader also reads on a timer.
   */
  watch(accountSid: string, fn: () => void): Promise<Unsubscribe>;
  /** The webhook dispatcher's feed (not available over a thread link: the dispatcher runs where the log is). */
  readonly dispatch: DispatchFeed;
}

/** Ids are `<ms>-<seq>` (as Redis stream ids); anything else from a client is refused. */
const ID_RE = /^(\d{1,15})-(\d{1,15})$/;

/** Whether `id` has the form of an event id (what a client may send as `Last-Event-ID`). */
export function isEventId(id: string): boolean {
  return ID_RE.test(id);
}

function compareIds(a: string, b: string): number {
  const ma = ID_RE.exec(a);
  const mb = ID_RE.exec(b);
  if (!ma || !mb) throw new RangeError("not an event id");
  const d = Number(ma[1]) - Number(mb[1]);
  return d !== 0 ? d : Number(ma[2]) - Number(mb[2]);
}

/** The JSON clients get: `event_id` first, then the event as stored. */
function wireJson(id: string, stored: string): string {
  return `{"event_id":${JSON.stringify(id)},${stored.slice(1)}`;
}

/** The channel that tells readers of an account that it has new events. */
export const notifyChannel = (prefix: string, accountSid: string) => `${prefix}evlog:notify:${accountSid}`;

const keyOf = (prefix: string, accountSid: string) => `${prefix}evlog:${accountSid}`;

/**
 * The public form of a store event (`call_joined` -> `call.joined`, data the object as
 * GET returns it).
 */
export function toPublicEvent(e: SessionEvent): PublicEvent {
  switch (e.type) {
    case "meeting_started":
      return {
        type: "meeting.started",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: e.meeting.meeting_sid,
        call_sid: null,
        data: e.meeting,
      };
    case "meeting_updated":
      return {
        type: "meeting.updated",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: e.meeting.meeting_sid,
        call_sid: null,
        data: e.meeting,
        changes: { ...e.changes },
      };
    case "meeting_ended":
      return {
        type: "meeting.ended",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: e.meeting.meeting_sid,
        call_sid: null,
        data: e.meeting,
        reason: e.reason,
      };
    case "call_joined":
      return {
        type: "call.joined",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: e.call.meeting_sid,
        call_sid: e.call.call_sid,
        data: e.call,
      };
    case "call_updated":
      return {
        type: "call.updated",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: e.call.meeting_sid,
        call_sid: e.call.call_sid,
        data: e.call,
        changes: { ...e.changes },
      };
    case "call_left":
    case "lobby_left":
      return {
        type: "call.left",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: e.call.meeting_sid,
        call_sid: e.call.call_sid,
        data: e.call,
      };
    case "call_entered":
      return {
        type: "call.entered",
        date_created: e.at,
        account_sid: e.account_sid,
        meeting_sid: null,
        call_sid: e.call.call_sid,
        data: e.call,
      };
  }
}

function limitsOf(l: EventLogLimits) {
  return {
    maxEvents: l.maxEvents ?? DEFAULT_EVENT_LOG_MAX_EVENTS,
    retentionMs: l.retentionMs ?? DEFAULT_EVENT_LOG_RETENTION_MS,
    dispatchBacklog: l.dispatchBacklog ?? DEFAULT_EVENT_DISPATCH_BACKLOG,
  };
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError("limit must be a whole number of 1 or more");
}

// ---------------------------------------------------------------------------------------
// In-process

interface MemEntry {
  id: string;
  ms: number;
  type: PublicEventType;
  accountSid: string;
  meetingSid: string | null;
  json: string;
}

interface MemState {
  accounts: Map<string, MemEntry[]>;
  lastMs: number;
  seq: number;
  /** Dispatch entries not taken yet, oldest first. */
  dispatch: (MemEntry & { dispatchId: string })[];
  /** Taken, not acked: dispatch id -> entry and when taken. */
  taken: Map<string, { entry: MemEntry & { dispatchId: string }; at: number }>;
  dispatchSeq: number;
  /** Whether a dispatcher reads this log (before that, nothing is queued for one). */
  dispatching: boolean;
  lastSweep: number;
}

// One state per prefix in the process, like the pub/sub hub: every log (and store) with
// the same prefix in this process shares it.
const memStates = new Map<string, MemState>();

function memState(prefix: string): MemState {
  let s = memStates.get(prefix);
  if (!s) {
    s = {
      accounts: new Map(),
      lastMs: 0,
      seq: 0,
      dispatch: [],
      taken: new Map(),
      dispatchSeq: 0,
      dispatching: false,
      lastSweep: 0,
    };
    memStates.set(prefix, s);
  }
  return s;
}

/** Index of the first entry with an id after `afterId` (entries are in id order). */
function firstAfter(entries: readonly MemEntry[], afterId: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareIds((entries[mid] as MemEntry).id, afterId) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The in-process log. */
export class MemoryEventLog implements EventLog {
  readonly #prefix: string;
  readonly #limits: ReturnType<typeof limitsOf>;
  readonly #transport: Transport;
  readonly #clock: () => number;

  constructor(
    prefix: string,
    limits: EventLogLimits = {},
    transport: Transport = new MemoryTransport(),
    clock: () => number = Date.now,
  ) {
    this.#prefix = prefix;
    this.#limits = limitsOf(limits);
    this.#transport = transport;
    this.#clock = clock;
  }

  #trim(entries: MemEntry[], now: number): void {
    const minMs = now - this.#limits.retentionMs;
    let drop = Math.max(0, entries.length - this.#limits.maxEvents);
    while (drop < entries.length && (entries[drop] as MemEntry).ms < minMs) drop++;
    if (drop > 0) entries.splice(0, drop);
  }

  /** Drops aged entries of accounts that went quiet, at most once a minute. */
  #sweep(s: MemState, now: number): void {
    if (now - s.lastSweep < 60_000) return;
    s.lastSweep = now;
    for (const [account, entries] of s.accounts) {
      this.#trim(entries, now);
      if (entries.length === 0) s.accounts.delete(account);
    }
  }

  async append(event: PublicEvent): Promise<string> {
    const s = memState(this.#prefix);
    const now = this.#clock();
    // Time-based ids (as Redis makes them), so ids still increase after a restart.
    if (now > s.lastMs) {
      s.lastMs = now;
      s.seq = 0;
    } else s.seq++;
    const id = `${s.lastMs}-${s.seq}`;
    const entry: MemEntry = {
      id,
      ms: now,
      type: event.type,
      accountSid: event.account_sid,
      meetingSid: event.meeting_sid,
      json: wireJson(id, JSON.stringify(event)),
    };
    let entries = s.accounts.get(event.account_sid);
    if (!entries) s.accounts.set(event.account_sid, (entries = []));
    entries.push(entry);
    this.#trim(entries, now);
    this.#sweep(s, now);
    if (s.dispatching) {
      s.dispatch.push({ ...entry, dispatchId: String(++s.dispatchSeq) });
      // Cut in chunks: one splice per tenth of the backlog, not one per event.
      const cap = this.#limits.dispatchBacklog;
      if (s.dispatch.length > cap + Math.ceil(cap / 10)) s.dispatch.splice(0, s.dispatch.length - cap);
    }
    await this.#transport.publish(notifyChannel(this.#prefix, event.account_sid), id);
    return id;
  }

  async readAfter(accountSid: string, afterId: string | null, limit: number): Promise<LoggedEvent[]> {
    checkLimit(limit);
    const entries = memState(this.#prefix).accounts.get(accountSid);
    if (!entries) return [];
    this.#trim(entries, this.#clock());
    const start = afterId === null ? 0 : firstAfter(entries, afterId);
    return entries
      .slice(start, start + limit)
      .map(({ id, type, accountSid: a, meetingSid, json }) => ({ id, type, accountSid: a, meetingSid, json }));
  }

  watch(accountSid: string, fn: () => void): Promise<Unsubscribe> {
    return this.#transport.subscribe(notifyChannel(this.#prefix, accountSid), () => fn());
  }

  readonly dispatch: DispatchFeed = {
    take: async (_consumer: string, max: number, reclaimAfterMs: number): Promise<DispatchEntry[]> => {
      checkLimit(max);
      const s = memState(this.#prefix);
      s.dispatching = true;
      const now = this.#clock();
      const out: DispatchEntry[] = [];
      for (const t of s.taken.values()) {
        if (out.length >= max) break;
        if (now - t.at >= reclaimAfterMs) {
          t.at = now;
          out.push(t.entry);
        }
      }
      while (out.length < max && s.dispatch.length > 0) {
        const e = s.dispatch.shift() as MemEntry & { dispatchId: string };
        s.taken.set(e.dispatchId, { entry: e, at: now });
        out.push(e);
      }
      return out.map(({ id, type, accountSid, meetingSid, json, dispatchId }) => ({
        id,
        type,
        accountSid,
        meetingSid,
        json,
        dispatchId,
      }));
    },
    ack: async (ids: readonly string[]): Promise<void> => {
      const s = memState(this.#prefix);
      for (const id of ids) s.taken.delete(id);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Redis

// The account's stream keeps at most maxEvents entries and none older than the
// retention, and disappears once idle for the retention; the dispatch stream keeps a
// bounded backlog for the dispatchers' consumer group. One script, so that an event is
// in both or in neither.
const APPEND_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[4], 'm', ARGV[5], 'e', ARGV[6])
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'a', ARGV[7], 'i', id, 't', ARGV[4], 'm', ARGV[5], 'e', ARGV[6])
redis.call('PUBLISH', ARGV[8], id)
return id
`;
const APPEND_SHA = createHash("sha1").update(APPEND_LUA).digest("hex");

const DISPATCH_GROUP = "webhooks";

type StreamEntry = [id: string, fields: string[]];

function fieldsOf(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

function isPublicType(t: string | undefined): t is PublicEventType {
  return (PUBLIC_EVENT_TYPES as readonly (string | undefined)[]).includes(t);
}

/** The Redis Streams log. */
export class RedisEventLog implements EventLog {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #limits: ReturnType<typeof limitsOf>;
  readonly #transport: Transport;
  #groupReady: Promise<void> | null = null;

  /** `transport`: the store's pub/sub (its subscriber connection carries the notifications). */
  constructor(redis: Redis, prefix: string, transport: Transport, limits: EventLogLimits = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#transport = transport;
    this.#limits = limitsOf(limits);
  }

  get #dispatchKey(): string {
    return `${this.#prefix}evlog-dispatch`;
  }

  async append(event: PublicEvent): Promise<string> {
    const args = [
      keyOf(this.#prefix, event.account_sid),
      this.#dispatchKey,
      this.#limits.maxEvents,
      this.#limits.retentionMs,
      this.#limits.dispatchBacklog,
      event.type,
      event.meeting_sid ?? "",
      JSON.stringify(event),
      event.account_sid,
      notifyChannel(this.#prefix, event.account_sid),
    ];
    try {
      return (await this.#redis.evalsha(APPEND_SHA, 2, ...args)) as string;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT"))
        return (await this.#redis.eval(APPEND_LUA, 2, ...args).catch(rethrowUnavailable)) as string;
      return rethrowUnavailable(err);
    }
  }

  #toLogged(accountSid: string, [id, raw]: StreamEntry): LoggedEvent | null {
    const f = fieldsOf(raw);
    if (!isPublicType(f.t) || f.e === undefined) return null;
    return { id, type: f.t, accountSid, meetingSid: f.m ? f.m : null, json: wireJson(id, f.e) };
  }

  async readAfter(accountSid: string, afterId: string | null, limit: number): Promise<LoggedEvent[]> {
    checkLimit(limit);
    const start = afterId === null ? "-" : `(${afterId}`;
    const rows = (await this.#redis
      .xrange(keyOf(this.#prefix, accountSid), start, "+", "COUNT", limit)
      .catch(rethrowUnavailable)) as StreamEntry[];
    return rows.map((r) => this.#toLogged(accountSid, r)).filter((e): e is LoggedEvent => e !== null);
  }

  watch(accountSid: string, fn: () => void): Promise<Unsubscribe> {
    return this.#transport.subscribe(notifyChannel(this.#prefix, accountSid), () => fn());
  }

  #ensureGroup(): Promise<void> {
    this.#groupReady ??= this.#redis.xgroup("CREATE", this.#dispatchKey, DISPATCH_GROUP, "$", "MKSTREAM").then(
      () => {},
      (err: unknown) => {
        if (err instanceof Error && err.message.startsWith("BUSYGROUP")) return;
        this.#groupReady = null;
        rethrowUnavailable(err);
      },
    );
    return this.#groupReady;
  }

  #toDispatch([dispatchId, raw]: StreamEntry): DispatchEntry | null {
    const f = fieldsOf(raw);
    if (!isPublicType(f.t) || f.e === undefined || !f.a || !f.i) return null;
    return { id: f.i, type: f.t, accountSid: f.a, meetingSid: f.m ? f.m : null, json: wireJson(f.i, f.e), dispatchId };
  }

  readonly dispatch: DispatchFeed = {
    take: async (consumer: string, max: number, reclaimAfterMs: number): Promise<DispatchEntry[]> => {
      checkLimit(max);
      await this.#ensureGroup();
      const key = this.#dispatchKey;
      // A consumer that died left its entries pending: after a while another takes them.
      const claimed = (await this.#redis
        .xautoclaim(key, DISPATCH_GROUP, consumer, reclaimAfterMs, "0-0", "COUNT", max)
        .catch(rethrowUnavailable)) as [string, StreamEntry[], string[]?];
      const entries: StreamEntry[] = [...(claimed[1] ?? [])].filter((e) => Array.isArray(e[1]));
      if (entries.length < max) {
        const fresh = (await this.#redis
          .xreadgroup("GROUP", DISPATCH_GROUP, consumer, "COUNT", max - entries.length, "STREAMS", key, ">")
          .catch(rethrowUnavailable)) as [string, StreamEntry[]][] | null;
        for (const [, rows] of fresh ?? []) entries.push(...rows);
      }
      const out: DispatchEntry[] = [];
      const bad: string[] = [];
      for (const e of entries) {
        const d = this.#toDispatch(e);
        if (d) out.push(d);
        else bad.push(e[0]);
      }
      if (bad.length > 0) await this.dispatch.ack(bad);
      return out;
    },
    ack: async (ids: readonly string[]): Promise<void> => {
      if (ids.length === 0) return;
      await this.#redis.xack(this.#dispatchKey, DISPATCH_GROUP, ...ids).catch(rethrowUnavailable);
    },
  };
}
