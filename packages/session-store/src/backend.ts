/**
 * What an adapter implements: the atomic operations on stored records. The store on top
 * (store.ts) checks inputs, turns records into API objects and publishes events, so both
 * adapters share that code and differ only in where the records live.
 */
import type { AnyCallRecord, CallRecord, LobbyRecord, MeetingRecord, NormalizedCall } from "./records.ts";
import type { CallPatch, MeetingPatch, ParticipantMuted } from "./types.ts";

/** A meeting removed together with its calls. */
export interface Destroyed {
  meeting: MeetingRecord;
  calls: CallRecord[];
}

export interface RawJoinInput {
  key: string;
  /** Used only if the join creates the meeting. */
  newMeetingSid: string;
  accountSid: string;
  roomSid: string | null;
  nodeId: string;
  now: number;
  ttlMs: number;
  participantMuted: ParticipantMuted;
  onHold: string;
  call: NormalizedCall;
  epoch: EpochInput;
  /** Create the meeting even while the store is settling (the wait is over). */
  force: boolean;
}

/** What a client knows of the store's epoch (see lua.ts), passed to operations that check it. */
export interface EpochInput {
  /** The epoch this client saw last; "" if none yet. */
  known: string;
  /** The epoch to write if there is none. */
  candidate: string;
  /** How long the settling window lasts when this client finds the epoch gone, ms. */
  graceMs: number;
}

export type RawJoin = { epoch: string } & (
  | { status: "ok"; created: boolean; meeting: MeetingRecord; call: CallRecord; reaped: Destroyed | null }
  | { status: "locked"; meeting: MeetingRecord; reaped: Destroyed | null }
  | { status: "duplicate" }
  /** No live meeting for the key while the store settles after losing its data: try again shortly. */
  | { status: "wait" }
);

export interface RawRestore {
  status: "created" | "merged";
  meeting: MeetingRecord;
  /** The calls written (those not in the store already). */
  added: CallRecord[];
  /** Whether the meeting key now leads to this meeting. */
  tookKey: boolean;
}

export interface RawLeave {
  call: CallRecord;
  meeting: MeetingRecord;
  ended: boolean;
}

export interface RawList<T> {
  items: T[];
  /** Some entries were hidden because their lease ran out: worth a reap. */
  sawExpired: boolean;
}

export interface RawPage<T> extends RawList<T> {
  /** Entries in all pages. */
  total: number;
}

export interface RawUpdate<T> {
  record: T;
  /** Fields whose value actually changed. */
  changed: string[];
}

/**
 * Every method is atomic with respect to every other, across all clients of the same
 * backing state. "Alive" means the meeting's lease runs out after `now`; reads and
 * updates treat a meeting that is not alive (and its calls) as absent. Calls at the
 * access-code prompt (lobby records) have a lease of their own, renewed with the
 * meetings of the node that holds them, and are read the same way.
 */
export interface Backend {
  /**
   * Adds a call to the meeting of the key. A lobby record of the same call sid becomes
   * the joined call in the same step (it is removed when the join succeeds).
   */
  join(input: RawJoinInput): Promise<RawJoin>;
  leave(callSid: string, now: number): Promise<RawLeave | null>;
  /** Writes a lobby record; false when the call sid is in use (joined, or at the prompt already). */
  enter(record: LobbyRecord, now: number): Promise<boolean>;
  /** Removes a lobby record (alive or not); null when there is none (never touches a joined call). */
  leaveLobby(callSid: string, now: number): Promise<LobbyRecord | null>;
  /** A joined call of a live meeting, or a live lobby record. */
  getCall(callSid: string, now: number): Promise<AnyCallRecord | null>;
  getMeeting(meetingSid: string, now: number): Promise<MeetingRecord | null>;
  /** `settling`: the store lost its data recently and mixers may still be restoring meetings. */
  getMeetingByKey(key: string, now: number): Promise<{ meeting: MeetingRecord | null; settling: boolean }>;
  /** The account's joined calls of live meetings, then its live lobby records. */
  listCalls(accountSid: string, now: number): Promise<RawList<AnyCallRecord>>;
  /** Entries `offset` to `offset + limit` of what `listCalls` lists, in its order, reading only those. */
  listCallsPage(accountSid: string, now: number, offset: number, limit: number): Promise<RawPage<AnyCallRecord>>;
  listMeetings(accountSid: string, now: number): Promise<RawList<MeetingRecord>>;
  listCallsOfMeeting(meetingSid: string, now: number): Promise<CallRecord[]>;
  updateCall(callSid: string, patch: CallPatch, now: number): Promise<RawUpdate<CallRecord> | null>;
  updateMeeting(meetingSid: string, patch: MeetingPatch, now: number): Promise<RawUpdate<MeetingRecord> | null>;
  endMeeting(meetingSid: string, now: number): Promise<Destroyed | null>;
  /**
   * Extends the leases of the node's live meetings and live lobby records; its meetings
   * already expired are removed (`lost`), its expired lobby records are left to `reapExpired`.
   */
  renewLease(
    nodeId: string,
    ttlMs: number,
    now: number,
    epoch: EpochInput,
  ): Promise<{ renewed: number; lost: Destroyed[]; epoch: string }>;
  /** The store's epoch, created when missing. */
  epoch(epoch: EpochInput): Promise<string>;
  /** Writes a meeting and calls a node still runs back (see the `restore` script). */
  restore(meeting: MeetingRecord, calls: CallRecord[], now: number): Promise<RawRestore>;
  /** Removes up to `limit` meetings (with their calls) and up to `limit` lobby records whose lease ran out. */
  reapExpired(now: number, limit: number): Promise<{ meetings: Destroyed[]; lobby: LobbyRecord[] }>;
  /**
   * Failover: the meeting's owner becomes `toNodeId` with lease `lease` if it is
   * `fromNodeId` now (alive or not, as long as the record exists). Returns the record
   * after the attempt; null when there is no record.
   */
  moveMeeting(
    meetingSid: string,
    fromNodeId: string,
    toNodeId: string,
    lease: number,
    now: number,
  ): Promise<MeetingRecord | null>;
  /** Publishes `payload` on `channelPrefix + owner` of a live meeting; null when there is none. */
  publishToOwner(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null>;
  /** Publishes `payload` on the channel of the meeting's owner and of every node carrying one of its calls (each once). */
  publishToMeeting(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null>;
  close(): Promise<void>;
}

/** The record of a meeting that a join creates (both backends start from the same one). */
export function newMeetingRecord(i: RawJoinInput): MeetingRecord {
  return {
    account_sid: i.accountSid,
    meeting_sid: i.newMeetingSid,
    meeting_room_sid: i.roomSid,
    date_created: i.now,
    locked: false,
    on_hold: i.onHold,
    participant_muted: i.participantMuted,
    recording: false,
    hosts: 0,
    participants: 0,
    listeners: 0,
    key: i.key,
    node: i.nodeId,
    lease: i.now + i.ttlMs,
  };
}
