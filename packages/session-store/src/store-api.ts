/**
 * What the live store promises its users: the SessionStore interface, its control
 * channel and event stream, and its options. The implementation is in store.ts.
 */
import type { ThreadLink } from "@conf/thread-link";
import type { Redis } from "ioredis";
import type { RedisTimeouts } from "./bus.ts";
import type { EventLog, EventLogLimits, NodeEventType } from "./event-log.ts";
import type { ErrorSink, SubscriptionHealth } from "./pubsub.ts";
import type {
  Call,
  CallInfo,
  CallPatch,
  ControlMessage,
  EndMeetingResult,
  EnterInput,
  JoinInput,
  JoinResult,
  LeaveResult,
  LiveCall,
  LobbyCall,
  Meeting,
  MeetingInfo,
  MeetingPatch,
  RenewResult,
  RestoreMeeting,
  RestoreResult,
  SessionEvent,
  TimeInput,
  Unsubscribe,
} from "./types.ts";

/**
 * An event a mixer node records itself, of what only it sees: someone starting or
 * stopping to talk (`talker.started`, `talker.stopped`). A caller at the access-code
 * prompt (`call.entered`) is recorded by {@link SessionStore.enter}.
 */
export interface NodeEventInput {
  type: NodeEventType;
  account_sid: string;
  call_sid: string;
  /** Default: the call's meeting in the store (null while the call is not in a meeting). */
  meeting_sid?: string | null;
  /** The Call object as GET returns it. Default: read from the store. */
  data?: LiveCall | Record<string, unknown>;
  /** When it happened; default now. */
  at?: TimeInput;
}

/**
 * Commands to the mixer node that owns a meeting. Delivery is at most once and only to
 * nodes subscribed at that moment (pub/sub): the store already holds the new state, the
 * message only tells the node to apply it to the running mix.
 * @example
 * await store.control.subscribe("mixer-1", (m) => m.type === "call_mute" && mix.setMuted(m.callSid, m.muted));
 * await store.control.sendToOwner({ type: "meeting_lock", meetingSid, locked: true });
 */
export interface ControlChannel {
  /** Sends `message` to `nodeId`; resolves to the number of subscribers reached (0: node not listening). */
  send(nodeId: string, message: ControlMessage): Promise<number>;
  /**
   * Sends `message` to the node owning `message.meetingSid`, looked up and published in
   * one step; resolves to the subscribers reached, or null when the meeting does not exist.
   */
  sendToOwner(message: ControlMessage): Promise<number | null>;
  /**
   * Sends `message` to every node mixing `message.meetingSid`: its owner and each node
   * carrying one of its calls (a meeting too big for one node is mixed by several, see
   * the mixer's cascade.ts), in one step; resolves to the subscribers reached, or null
   * when the meeting does not exist. For what changes the whole meeting.
   */
  sendToMeeting(message: ControlMessage): Promise<number | null>;
  /** Delivers every message for `nodeId` to `handler` from now on (resolves once active). */
  subscribe(nodeId: string, handler: (message: ControlMessage) => unknown): Promise<Unsubscribe>;
}

/**
 * What happens in the live plane, for observers. The store publishes every event of
 * {@link SessionEvent} itself after the operation that caused it.
 * @example
 * const stop = await store.events.subscribe((e) => { if (e.type === "call_joined") log(e.call.call_sid); });
 */
export interface EventStream {
  /** Publishes an event to every subscriber; resolves to the number reached. */
  publish(event: SessionEvent): Promise<number>;
  /** Delivers every event, of every account, to `handler` from now on (resolves once active). */
  subscribe(handler: (event: SessionEvent) => unknown): Promise<Unsubscribe>;
  /**
   * Whether subscribed events are being delivered right now; an event published while
   * they are not is lost, so state kept from events must not be trusted across the gap.
   */
  readonly health: SubscriptionHealth;
}

/**
 * The live plane: Meeting and Call objects with atomic join/leave, leases of meetings on
 * mixer nodes, a control channel to those nodes and an event stream. All operations are
 * atomic across every client of the same backing store (Redis server and prefix, or
 * process and prefix). Meetings whose lease ran out, and their calls, are invisible to
 * every read and update even before they are reaped.
 * @example
 * const store = createSessionStore({});
 * const r = await store.join({ meetingKey: "acct:adhoc:1234", accountSid: "acct", meetingRoomSid: null,
 *   nodeId: "mixer-1", call: { access_code: "1234", codecs: "PCMU", number_src: "<sip:1@h>",
 *   number_dst: "<sip:2@h>", name: "", direction: "In", role: "participant" } });
 * if (r.ok) await store.leave(r.call.call_sid); // { ended: true }: the meeting is gone
 */
export interface SessionStore {
  /** Which adapter is in use. */
  readonly kind: "redis" | "memory";
  /**
   * Adds a call to the meeting of `meetingKey`, creating the meeting (owned by `nodeId`,
   * leased for the store's `leaseTtlMs`) when there is none. Concurrent joins of one key
   * make one meeting. A non-host is refused while the meeting is locked.
   * @throws RangeError on malformed input; Error when `call.call_sid` is already in use.
   */
  join(input: JoinInput): Promise<JoinResult>;
  /** Removes a joined call; the last call leaving deletes the meeting. Null when the call does not exist. */
  leave(callSid: string): Promise<LeaveResult | null>;
  /**
   * Records a call answered and at the access-code prompt (the mixer's lobby), held by
   * `input.nodeId` under a lease of the store's `leaseTtlMs` that `renewLease` of that
   * node extends, so a dead node's callers vanish with its meetings. Listed and read
   * like joined calls, with `meeting_sid` null ({@link LobbyCall}); a `join` with the same
   * `call_sid` turns it into the joined call atomically. Publishes `call_entered` (the
   * public `call.entered`, its data this object). Null when the call sid is in use.
   * @throws RangeError on malformed input.
   * @example
   * const lobby = await store.enter({ call_sid, account_sid, codecs: "PCMU", number_src, number_dst,
   *   name: "", direction: "In", nodeId: "mixer-1" });
   */
  enter(input: EnterInput): Promise<LobbyCall | null>;
  /**
   * Removes a call at the prompt that leaves without joining (hung up, refused); null
   * when there is none (a joined call is never touched: see `leave`). Publishes
   * `lobby_left` (the public `call.left` with `meeting_sid` null).
   */
  leaveLobby(callSid: string): Promise<LobbyCall | null>;
  /** A call in a meeting, or at the access-code prompt (`meeting_sid` null). */
  getCall(callSid: string): Promise<LiveCall | null>;
  /** A call with the node carrying it (for a call at the prompt, the node that answered it). */
  getCallInfo(callSid: string): Promise<CallInfo | null>;
  getMeeting(meetingSid: string): Promise<Meeting | null>;
  /** A meeting with its key, owning node and lease. */
  getMeetingInfo(meetingSid: string): Promise<MeetingInfo | null>;
  getMeetingByKey(meetingKey: string): Promise<Meeting | null>;
  /**
   * Every call of an account, those at the access-code prompt included, in no particular
   * order (the API sorts, filters and pages).
   */
  listCalls(accountSid: string): Promise<LiveCall[]>;
  /**
   * Calls `offset` to `offset + limit` of what `listCalls` returns, in the same order
   * (while the account's calls do not change), and how many calls it returns in all;
   * only the page's records are read. For the unfiltered, unordered API list.
   */
  listCallsPage(accountSid: string, offset: number, limit: number): Promise<{ items: LiveCall[]; total: number }>;
  /** Every meeting of an account, in no particular order. */
  listMeetings(accountSid: string): Promise<Meeting[]>;
  /** The calls of a meeting; empty when the meeting does not exist. */
  listCallsOfMeeting(meetingSid: string): Promise<Call[]>;
  /**
   * Applies `patch` to a joined call; null when there is none (also for a call at the
   * prompt: it has no meeting to be muted or held in). @throws RangeError on a bad value.
   */
  updateCall(callSid: string, patch: CallPatch): Promise<Call | null>;
  /** Applies `patch`; null when the meeting does not exist. @throws RangeError on a bad value. */
  updateMeeting(meetingSid: string, patch: MeetingPatch): Promise<Meeting | null>;
  /** Deletes the meeting and all its calls; null when it does not exist. */
  endMeeting(meetingSid: string): Promise<EndMeetingResult | null>;
  /**
   * Extends the lease of every meeting `nodeId` owns, and of every call it holds at the
   * prompt, to now + `ttlMs` (default: the store's `leaseTtlMs`). Meetings of the node
   * whose lease had already run out are removed and reported in `lost`, not revived;
   * such calls at the prompt are left to the reaper.
   */
  renewLease(nodeId: string, ttlMs?: number): Promise<RenewResult>;
  /**
   * Removes meetings (and their calls) whose lease ran out, and calls at the prompt whose
   * lease ran out (`lobby_left`, reason `lease_expired`); resolves to those meetings.
   */
  reapExpired(): Promise<Meeting[]>;
  /**
   * Calls `handler` each time this client finds that the store lost its data under it
   * (Redis restarted empty): on reconnection, and from any join or lease renewal. A
   * mixer node then writes back what it mixes with {@link restore}. Returns the function
   * that stops it.
   */
  onReset(handler: () => unknown): () => void;
  /**
   * Writes meetings that `nodeId` is still mixing, and their calls, back into the store
   * with their sids and state, the node owning those it is first to write; publishes
   * `meeting_started` and `call_joined` for what it wrote. Idempotent: calls already
   * there are left alone.
   */
  restore(nodeId: string, meetings: readonly RestoreMeeting[]): Promise<RestoreResult[]>;
  /**
   * Failover: the node that mixed a meeting died, and `toNodeId` takes it over with its
   * sid, state and calls. Atomic: the owner becomes `toNodeId` (with a fresh lease) only
   * if it is `fromNodeId` now, so of several nodes moving the same meeting the first one
   * wins and the others find its choice. Resolves to the meeting afterwards (its
   * `nodeId` says who owns it now); null when the meeting is gone. Publishes nothing:
   * the Meeting object does not change.
   */
  moveMeeting(meetingSid: string, fromNodeId: string, toNodeId: string): Promise<MeetingInfo | null>;
  readonly control: ControlChannel;
  readonly events: EventStream;
  /**
   * The public event log (SSE and webhooks read it). The store appends every event of
   * its own operations to it, once, from the process that did the operation.
   */
  readonly eventLog: EventLog;
  /**
   * Appends an event only a mixer node sees (see {@link NodeEventInput}) to the public
   * log; resolves to its id, or null when the call is gone (nothing recorded). Failures
   * of the log go to `onError`, never to the caller.
   * @example
   * await store.recordEvent({ type: "talker.started", account_sid, call_sid });
   */
  recordEvent(input: NodeEventInput): Promise<string | null>;
  /** Stops subscriptions and timers, waits for a running reap, quits connections it opened. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** Redis server URL; unset (and no `redis`): the in-process adapter. */
  redisUrl?: string;
  /** An existing ioredis connection to use instead of `redisUrl`; not quit by `close()`. */
  redis?: Redis;
  /**
   * The in-process state of another thread of this process, served there by
   * `serveLivePlane` (used when neither `redisUrl` nor `redis` is given).
   */
  link?: ThreadLink;
  /** Prefix of every key and channel. Default `"conf:"`. */
  prefix?: string;
  /** Current time in ms since the epoch. Default `Date.now`. Drives durations and leases. */
  clock?: () => number;
  /** Lease given to a meeting when created and by `renewLease` without a ttl, in ms. Default 30000. */
  leaseTtlMs?: number;
  /** Reap expired meetings every this many ms (0: only lazily, when a list meets one). Default 0. */
  reapIntervalMs?: number;
  /** Where handler errors and failed background work go. Default: `console.error`. */
  onError?: ErrorSink;
  /** Timeouts of the connection opened for `redisUrl`. */
  timeouts?: RedisTimeouts;
  /**
   * After Redis is found emptied, how long a join that would create a meeting waits
   * for the mixers to restore theirs, ms. Default 3000.
   */
  restoreGraceMs?: number;
  /** Retention and bounds of the public event log. */
  eventLog?: EventLogLimits;
}
