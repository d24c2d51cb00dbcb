import type { Redis } from "ioredis";
import type { Backend, Destroyed, EpochInput, RawJoin } from "./backend.ts";
import { connectRedis, DEFAULT_PREFIX } from "./bus.ts";
import { type EventLog, MemoryEventLog, NODE_EVENT_TYPES, type PublicEvent, RedisEventLog, toPublicEvent } from "./event-log.ts";
import { LinkTransport, linkBackend, linkEventLog } from "./link.ts";
import { MemoryBackend } from "./memory-backend.ts";
import {
  defaultErrorSink,
  type ErrorSink,
  jsonHandler,
  MemoryTransport,
  RedisTransport,
  safeCall,
  type Transport,
} from "./pubsub.ts";
import {
  iso,
  type LobbyRecord,
  normalizeCallInput,
  normalizeEnterInput,
  normalizeCallPatch,
  normalizeInitialMeeting,
  normalizeMeetingPatch,
  normalizeRoleSet,
  toCall,
  toLiveCall,
  toLobbyCall,
  toMs,
  toCallInfo,
  toMeeting,
  toMeetingInfo,
} from "./records.ts";
import { RedisBackend } from "./redis-backend.ts";
import {
  type Call,
  type CallInfo,
  type CallPatch,
  CONTROL_MESSAGE_TYPES,
  type ControlMessage,
  type EndMeetingResult,
  type EnterInput,
  type JoinInput,
  type JoinResult,
  type LeaveResult,
  type LiveCall,
  type LobbyCall,
  type LobbyLeaveReason,
  type Meeting,
  type MeetingEndReason,
  type MeetingInfo,
  type MeetingPatch,
  type RenewResult,
  type RestoreMeeting,
  type RestoreResult,
  SESSION_EVENT_TYPES,
  type SessionEvent,
} from "./types.ts";

export type { ControlChannel, EventStream, NodeEventInput, SessionStore, SessionStoreOptions } from "./store-api.ts";
import type { ControlChannel, EventStream, NodeEventInput, SessionStore, SessionStoreOptions } from "./store-api.ts";

/** Default of {@link SessionStoreOptions.restoreGraceMs}. */
export const DEFAULT_RESTORE_GRACE_MS = 3000;
/** How often a waiting join looks again while the store settles, ms. */
const SETTLE_POLL_MS = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reaps stop after this many meetings per call, so one call never blocks Redis for long. */
const REAP_BATCH = 500;

const isControl = (v: unknown): v is ControlMessage =>
  typeof v === "object" &&
  v !== null &&
  (CONTROL_MESSAGE_TYPES as readonly unknown[]).includes((v as { type?: unknown }).type) &&
  typeof (v as { meetingSid?: unknown }).meetingSid === "string";

const isEvent = (v: unknown): v is SessionEvent =>
  typeof v === "object" && v !== null && (SESSION_EVENT_TYPES as readonly unknown[]).includes((v as { type?: unknown }).type);

class Store implements SessionStore {
  readonly kind: "redis" | "memory";
  readonly control: ControlChannel;
  readonly events: EventStream;
  readonly eventLog: EventLog;
  #backend: Backend;
  #transport: Transport;
  #clock: () => number;
  #ttl: number;
  #onError: ErrorSink;
  #reaping: Promise<unknown> | null = null;
  /** Event publishes not yet acknowledged; close() waits for them so none is cut off. */
  #inflight = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** The store's epoch as this client last saw it (lua.ts); null before the first answer. */
  #epoch: string | null = null;
  #resetHandlers = new Set<() => unknown>();
  #graceMs: number;
  #redis: Redis | null;
  #onReady = () => {
    if (this.#closing) return;
    this.#backend.epoch(this.#epochInput()).then((e) => this.#sawEpoch(e), this.#onError);
  };

  constructor(
    kind: "redis" | "memory",
    backend: Backend,
    transport: Transport,
    prefix: string,
    options: SessionStoreOptions,
    eventLog: EventLog,
    redis: Redis | null = null,
  ) {
    this.kind = kind;
    this.eventLog = eventLog;
    this.#graceMs = options.restoreGraceMs ?? DEFAULT_RESTORE_GRACE_MS;
    // Each (re)connection checks the epoch at once: after a Redis restart, the mixers
    // find out and restore within a reconnection delay, not at their next lease renewal.
    this.#redis = redis;
    redis?.on("ready", this.#onReady);
    // A shared connection may be up already: its "ready" has been and gone.
    if (redis?.status === "ready") queueMicrotask(this.#onReady);
    this.#backend = backend;
    this.#transport = transport;
    this.#clock = options.clock ?? Date.now;
    this.#ttl = options.leaseTtlMs ?? 30_000;
    this.#onError = options.onError ?? defaultErrorSink;
    const controlPrefix = `${prefix}control:`;
    const eventsChannel = `${prefix}events`;
    this.control = {
      send: (nodeId, message) => transport.publish(controlPrefix + nodeId, JSON.stringify(message)),
      sendToOwner: (message) => backend.publishToOwner(message.meetingSid, this.#clock(), controlPrefix, JSON.stringify(message)),
      sendToMeeting: (message) =>
        backend.publishToMeeting(message.meetingSid, this.#clock(), controlPrefix, JSON.stringify(message)),
      subscribe: (nodeId, handler) => transport.subscribe(controlPrefix + nodeId, jsonHandler(handler, this.#onError, isControl)),
    };
    this.events = {
      publish: (event) => transport.publish(eventsChannel, JSON.stringify(event)),
      subscribe: (handler) => transport.subscribe(eventsChannel, jsonHandler(handler, this.#onError, isEvent)),
      health: transport.health,
    };
    if (options.reapIntervalMs && options.reapIntervalMs > 0) {
      this.#timer = setInterval(() => this.#reapInBackground(), options.reapIntervalMs);
      this.#timer.unref?.();
    }
  }

  /**
   * Publishes without waiting: the operation's result does not depend on observers.
   * The public log gets the event too (`log: false` for what restore() writes back,
   * which clients of the log have been told about already).
   */
  #emit(event: SessionEvent, log = true): void {
    if (this.#closed) return;
    this.#track(this.events.publish(event));
    if (log) this.#track(this.eventLog.append(toPublicEvent(event)));
  }

  #track(work: Promise<unknown>): void {
    const p = work.catch(this.#onError).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  async recordEvent(input: NodeEventInput): Promise<string | null> {
    if (!(NODE_EVENT_TYPES as readonly string[]).includes(input.type))
      throw new RangeError(`type: not a node event: ${String(input.type)}`);
    if (typeof input.account_sid !== "string" || typeof input.call_sid !== "string")
      throw new RangeError("account_sid and call_sid must be strings");
    const now = this.#now();
    let data = input.data;
    let meetingSid = input.meeting_sid;
    if (data === undefined) {
      const call = await this.getCall(input.call_sid);
      if (!call || call.account_sid !== input.account_sid) return null;
      data = call;
    }
    if (meetingSid === undefined) {
      const m = (data as { meeting_sid?: unknown }).meeting_sid;
      meetingSid = typeof m === "string" ? m : null;
    }
    const event: PublicEvent = {
      type: input.type,
      date_created: input.at === undefined ? iso(now) : iso(toMs(input.at, "at")),
      account_sid: input.account_sid,
      meeting_sid: meetingSid,
      call_sid: input.call_sid,
      data,
    };
    try {
      return await this.eventLog.append(event);
    } catch (err) {
      this.#onError(err);
      return null;
    }
  }

  #emitEnded(d: Destroyed, reason: MeetingEndReason, now: number): Meeting {
    const meeting = toMeeting(d.meeting, now);
    this.#emit({
      type: "meeting_ended",
      account_sid: meeting.account_sid,
      at: iso(now),
      meeting,
      reason,
      call_sids: d.calls.map((c) => c.call_sid),
    });
    return meeting;
  }

  #emitLobbyLeft(r: LobbyRecord, reason: LobbyLeaveReason, now: number): LobbyCall {
    const call = toLobbyCall(r, now);
    this.#emit({ type: "lobby_left", account_sid: call.account_sid, at: iso(now), call, reason });
    return call;
  }

  #epochInput(): EpochInput {
    return { known: this.#epoch ?? "", candidate: crypto.randomUUID(), graceMs: this.#graceMs };
  }

  /** Records the epoch an operation returned; a different one means Redis lost its data. */
  #sawEpoch(epoch: string): void {
    const before = this.#epoch;
    this.#epoch = epoch;
    if (before === null || before === epoch || this.#closing) return;
    for (const fn of [...this.#resetHandlers]) safeCall(fn, this.#onError);
  }

  onReset(handler: () => unknown): () => void {
    this.#resetHandlers.add(handler);
    return () => {
      this.#resetHandlers.delete(handler);
    };
  }

  /**
   * Why joins wait while the store settles (and not "merge a duplicate meeting later"):
   * after Redis restarts empty, a caller may reach a node before the meeting's owner has
   * written its meeting back. Creating a fresh meeting then would split the room; merging
   * it afterwards would mean moving running calls between nodes' mixes. Instead the
   * first client that knew the old epoch and finds it gone (any node's join, renewal or
   * reconnection check) opens a settling window (`restoreGraceMs`); in it a join or
   * owner lookup that finds no meeting for its key waits and looks again, so it joins
   * the restored meeting as soon as its owner writes it. A join that still finds none
   * after the window creates the meeting (a room nobody was in, or whose owner is gone).
   * What this cannot see: a client that never knew the old epoch (a node started while
   * Redis was down) opens no window; if it creates a meeting the owner then restores
   * over, the older meeting takes the key (lua.ts `restore`), so later callers still
   * join the meeting that ran before, and the newer one lives on until its callers leave.
   */
  async restore(nodeId: string, meetings: readonly RestoreMeeting[]): Promise<RestoreResult[]> {
    const out: RestoreResult[] = [];
    for (const rm of meetings) {
      const now = this.#now();
      const meeting = {
        account_sid: rm.account_sid,
        meeting_sid: rm.meeting_sid,
        meeting_room_sid: rm.meeting_room_sid,
        date_created: toMs(rm.date_created, "date_created"),
        locked: Boolean(rm.locked),
        on_hold: normalizeRoleSet(rm.on_hold),
        participant_muted: normalizeInitialMeeting({ participant_muted: rm.participant_muted }).participant_muted,
        recording: Boolean(rm.recording),
        hosts: 0,
        participants: 0,
        listeners: 0,
        key: rm.meetingKey,
        node: nodeId,
        lease: now + this.#ttl,
      };
      const calls = rm.calls.map((c) => {
        const n = normalizeCallInput(c, now);
        return {
          ...n,
          account_sid: rm.account_sid,
          meeting_room_sid: rm.meeting_room_sid,
          meeting_sid: rm.meeting_sid,
          date_joined: c.date_joined === undefined ? n.date_created : toMs(c.date_joined, "date_joined"),
          node: nodeId,
        };
      });
      const r = await this.#backend.restore(meeting, calls, now);
      const m = toMeeting(r.meeting, now);
      const at = iso(now);
      // Observers (the API's read cache) may have seen the store empty: tell them.
      if (r.status === "created") {
        const started = { ...m, attendees: { hosts: 0, listeners: 0, participants: 0 } };
        this.#emit({ type: "meeting_started", account_sid: m.account_sid, at, meeting: started }, false);
      }
      for (const c of r.added)
        this.#emit({ type: "call_joined", account_sid: m.account_sid, at, call: toCall(c, now), meeting: m }, false);
      out.push({ meetingSid: rm.meeting_sid, status: r.status, added: r.added.length, tookKey: r.tookKey });
    }
    return out;
  }

  /** The time for an operation; operations after close() are a programming error. */
  #now(): number {
    if (this.#closed) throw new Error("session-store: used after close()");
    return this.#clock();
  }

  #reapInBackground(): void {
    if (this.#reaping || this.#closing) return;
    this.#reaping = this.reapExpired()
      .catch(this.#onError)
      .finally(() => {
        this.#reaping = null;
      });
  }

  async join(input: JoinInput): Promise<JoinResult> {
    const now = this.#now();
    const call = normalizeCallInput(input.call, now);
    const initial = normalizeInitialMeeting(input.initialMeeting);
    const newMeetingSid = crypto.randomUUID();
    // While the store settles after losing its data, see restore(); bounded however the
    // window behaves, then the join creates the meeting.
    const giveUpAt = performance.now() + this.#graceMs + 1000;
    let r: RawJoin;
    for (let force = false; ; ) {
      r = await this.#backend.join({
        key: input.meetingKey,
        newMeetingSid,
        accountSid: input.accountSid,
        roomSid: input.meetingRoomSid,
        nodeId: input.nodeId,
        now: this.#now(),
        ttlMs: this.#ttl,
        participantMuted: initial.participant_muted,
        onHold: initial.on_hold,
        call,
        epoch: this.#epochInput(),
        force,
      });
      this.#sawEpoch(r.epoch);
      if (r.status !== "wait") break;
      await sleep(SETTLE_POLL_MS);
      force = performance.now() > giveUpAt;
    }
    if (r.status === "duplicate") throw new Error(`session-store: call_sid ${call.call_sid} is already in use`);
    if (r.reaped) this.#emitEnded(r.reaped, "lease_expired", now);
    const meeting = toMeeting(r.meeting, now);
    if (r.status === "locked") return { ok: false, reason: "locked", meeting };
    const c = toCall(r.call, now);
    const at = iso(now);
    if (r.created) {
      // Observers see the meeting as it started: empty, before this call's join.
      const started = { ...meeting, attendees: { hosts: 0, listeners: 0, participants: 0 } };
      this.#emit({ type: "meeting_started", account_sid: meeting.account_sid, at, meeting: started });
    }
    this.#emit({ type: "call_joined", account_sid: c.account_sid, at, call: c, meeting });
    return { ok: true, meeting, call: c, created: r.created, ownerNodeId: r.meeting.node };
  }

  async leave(callSid: string): Promise<LeaveResult | null> {
    const now = this.#now();
    const r = await this.#backend.leave(callSid, now);
    if (!r) return null;
    const call = toCall(r.call, now);
    const meeting = toMeeting(r.meeting, now);
    this.#emit({ type: "call_left", account_sid: call.account_sid, at: iso(now), call, meeting });
    if (r.ended) this.#emitEnded({ meeting: r.meeting, calls: [] }, "last_left", now);
    return { call, meeting, ended: r.ended };
  }

  async enter(input: EnterInput): Promise<LobbyCall | null> {
    const now = this.#now();
    const record = normalizeEnterInput(input, now, this.#ttl);
    if (!(await this.#backend.enter(record, now))) return null;
    const call = toLobbyCall(record, now);
    this.#emit({ type: "call_entered", account_sid: call.account_sid, at: iso(now), call });
    return call;
  }

  async leaveLobby(callSid: string): Promise<LobbyCall | null> {
    const now = this.#now();
    const r = await this.#backend.leaveLobby(callSid, now);
    return r ? this.#emitLobbyLeft(r, "left", now) : null;
  }

  async getCall(callSid: string): Promise<LiveCall | null> {
    const now = this.#now();
    const r = await this.#backend.getCall(callSid, now);
    return r ? toLiveCall(r, now) : null;
  }

  async getCallInfo(callSid: string): Promise<CallInfo | null> {
    const now = this.#now();
    const r = await this.#backend.getCall(callSid, now);
    return r ? toCallInfo(r, now) : null;
  }

  async getMeeting(meetingSid: string): Promise<Meeting | null> {
    const now = this.#now();
    const r = await this.#backend.getMeeting(meetingSid, now);
    return r ? toMeeting(r, now) : null;
  }

  async getMeetingInfo(meetingSid: string): Promise<MeetingInfo | null> {
    const now = this.#now();
    const r = await this.#backend.getMeeting(meetingSid, now);
    return r ? toMeetingInfo(r, now) : null;
  }

  async getMeetingByKey(meetingKey: string): Promise<Meeting | null> {
    // A mixer asks who owns a key before it joins (to hand the caller over): while the
    // store settles, "none" may only mean "not restored yet", so it looks again (restore()).
    const giveUpAt = performance.now() + this.#graceMs + 1000;
    for (;;) {
      const now = this.#now();
      const r = await this.#backend.getMeetingByKey(meetingKey, now);
      if (r.meeting) return toMeeting(r.meeting, now);
      if (!r.settling || performance.now() > giveUpAt) return null;
      await sleep(SETTLE_POLL_MS);
    }
  }

  async listCalls(accountSid: string): Promise<LiveCall[]> {
    const now = this.#now();
    const r = await this.#backend.listCalls(accountSid, now);
    if (r.sawExpired) this.#reapInBackground();
    return r.items.map((c) => toLiveCall(c, now));
  }

  async listCallsPage(accountSid: string, offset: number, limit: number): Promise<{ items: LiveCall[]; total: number }> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError("offset must be a whole number of 0 or more");
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError("limit must be a whole number of 0 or more");
    const now = this.#now();
    const r = await this.#backend.listCallsPage(accountSid, now, offset, limit);
    if (r.sawExpired) this.#reapInBackground();
    return { items: r.items.map((c) => toLiveCall(c, now)), total: r.total };
  }

  async listMeetings(accountSid: string): Promise<Meeting[]> {
    const now = this.#now();
    const r = await this.#backend.listMeetings(accountSid, now);
    if (r.sawExpired) this.#reapInBackground();
    return r.items.map((m) => toMeeting(m, now));
  }

  async listCallsOfMeeting(meetingSid: string): Promise<Call[]> {
    const now = this.#now();
    return (await this.#backend.listCallsOfMeeting(meetingSid, now)).map((c) => toCall(c, now));
  }

  async updateCall(callSid: string, patch: CallPatch): Promise<Call | null> {
    const p = normalizeCallPatch(patch);
    const now = this.#now();
    const r = await this.#backend.updateCall(callSid, p, now);
    if (!r) return null;
    const call = toCall(r.record, now);
    if (r.changed.length > 0) {
      const changes = Object.fromEntries(r.changed.map((k) => [k, call[k as keyof CallPatch]])) as CallPatch;
      this.#emit({ type: "call_updated", account_sid: call.account_sid, at: iso(now), call, changes });
    }
    return call;
  }

  async updateMeeting(meetingSid: string, patch: MeetingPatch): Promise<Meeting | null> {
    const p = normalizeMeetingPatch(patch);
    const now = this.#now();
    const r = await this.#backend.updateMeeting(meetingSid, p, now);
    if (!r) return null;
    const meeting = toMeeting(r.record, now);
    if (r.changed.length > 0) {
      const changes = Object.fromEntries(r.changed.map((k) => [k, meeting[k as keyof MeetingPatch]])) as MeetingPatch;
      this.#emit({ type: "meeting_updated", account_sid: meeting.account_sid, at: iso(now), meeting, changes });
    }
    return meeting;
  }

  async endMeeting(meetingSid: string): Promise<EndMeetingResult | null> {
    const now = this.#now();
    const d = await this.#backend.endMeeting(meetingSid, now);
    if (!d) return null;
    const meeting = this.#emitEnded(d, "ended", now);
    return { meeting, calls: d.calls.map((c) => toCall(c, now)), nodeId: d.meeting.node };
  }

  async renewLease(nodeId: string, ttlMs: number = this.#ttl): Promise<RenewResult> {
    if (!(ttlMs > 0)) throw new RangeError("ttlMs: must be a positive number of milliseconds");
    const now = this.#now();
    const r = await this.#backend.renewLease(nodeId, ttlMs, now, this.#epochInput());
    for (const d of r.lost) this.#emitEnded(d, "lease_expired", now);
    this.#sawEpoch(r.epoch);
    return { renewed: r.renewed, lost: r.lost.map((d) => d.meeting.meeting_sid) };
  }

  async moveMeeting(meetingSid: string, fromNodeId: string, toNodeId: string): Promise<MeetingInfo | null> {
    const now = this.#now();
    const r = await this.#backend.moveMeeting(meetingSid, fromNodeId, toNodeId, now + this.#ttl, now);
    return r ? toMeetingInfo(r, now) : null;
  }

  async reapExpired(): Promise<Meeting[]> {
    const out: Meeting[] = [];
    // Bounded batches: a backlog (a node died with many meetings) is cleared in several
    // short scripts rather than one long one. Callers at the prompt of a node that
    // stopped renewing (died) go the same way.
    for (let round = 0; round < 100; round++) {
      const now = this.#now();
      const batch = await this.#backend.reapExpired(now, REAP_BATCH);
      for (const d of batch.meetings) out.push(this.#emitEnded(d, "lease_expired", now));
      for (const r of batch.lobby) this.#emitLobbyLeft(r, "lease_expired", now);
      if (batch.meetings.length < REAP_BATCH && batch.lobby.length < REAP_BATCH) break;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = (async () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#redis?.off("ready", this.#onReady);
      this.#resetHandlers.clear();
      if (this.#reaping) await this.#reaping;
      this.#closed = true;
      await Promise.all(this.#inflight);
      await this.#transport.close();
      await this.#backend.close();
    })();
    return this.#closing;
  }
}

/**
 * Creates the session store: the Redis adapter when `redisUrl` (or `redis`) is given,
 * else the in-process adapter (stores with the same prefix in one process share state).
 * @example
 * const store = createSessionStore({ redisUrl: process.env.REDIS_URL, prefix: "conf:" });
 * const r = await store.join({
 *   meetingKey: `${accountSid}:room:${roomSid}`, accountSid, meetingRoomSid: roomSid, nodeId: "mixer-1",
 *   call: { access_code: "890671", codecs: "PCMU", number_src: from, number_dst: to, name: "",
 *           direction: "In", role: "host" },
 * });
 * if (r.ok) console.log(r.meeting.attendees); else console.log("refused:", r.reason);
 * await store.close();
 */
export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (options.redis || options.redisUrl) {
    const owned = !options.redis;
    const redis = options.redis ?? connectRedis(options.redisUrl as string, options.timeouts);
    const transport = new RedisTransport(redis);
    const log = new RedisEventLog(redis, prefix, transport, options.eventLog);
    return new Store("redis", new RedisBackend(redis, prefix, owned), transport, prefix, options, log, redis);
  }
  if (options.link) {
    const transport = new LinkTransport(options.link);
    return new Store(
      "memory",
      linkBackend(options.link, prefix),
      transport,
      prefix,
      options,
      linkEventLog(options.link, prefix, transport),
    );
  }
  const transport = new MemoryTransport();
  const log = new MemoryEventLog(prefix, options.eventLog, transport);
  return new Store("memory", new MemoryBackend(prefix, transport), transport, prefix, options, log);
}
