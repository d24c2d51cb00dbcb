/**
 * The stored form of meetings and calls (shared by both adapters) and its conversion
 * to the public objects. Times are kept as ms since the epoch and rendered as ISO 8601
 * only when read, so `duration` is always live.
 */
import { ROLES, type Role } from "@conf/call-flow";
import {
  type Attendees,
  type Call,
  type CallInfo,
  type CallInput,
  type CallPatch,
  DIRECTIONS,
  type EnterInput,
  type LobbyCall,
  type LiveCall,
  type Meeting,
  type MeetingInfo,
  type MeetingPatch,
  PARTICIPANT_MUTED_VALUES,
  type ParticipantMuted,
  type TimeInput,
} from "./types.ts";

/** A meeting as stored. Field names double as Redis hash fields. */
export interface MeetingRecord {
  account_sid: string;
  meeting_sid: string;
  meeting_room_sid: string | null;
  date_created: number;
  locked: boolean;
  on_hold: string;
  participant_muted: ParticipantMuted;
  recording: boolean;
  hosts: number;
  participants: number;
  listeners: number;
  key: string;
  node: string;
  lease: number;
}

/**
 * A call as stored: the Call object's fields but times as ms since the epoch and no
 * `duration` (computed when read), and the node carrying its media. Field names double
 * as Redis hash fields.
 */
export interface CallRecord extends Omit<Call, "date_created" | "date_joined" | "duration"> {
  date_created: number;
  date_joined: number;
  node: string;
}

/**
 * A call at the access-code prompt as stored (see {@link LobbyCall}): the fields it has
 * before it joins, the node that answered it and its own lease (ms since the epoch;
 * alive while greater than now), renewed with that node's meetings. `meeting_sid` is
 * always null: it tells a lobby record from a joined one. Field names double as JSON keys.
 */
export interface LobbyRecord {
  call_sid: string;
  account_sid: string;
  codecs: string;
  number_src: string;
  number_dst: string;
  name: string;
  direction: Call["direction"];
  date_created: number;
  meeting_sid: null;
  node: string;
  lease: number;
}

/** A stored call of either kind. */
export type AnyCallRecord = CallRecord | LobbyRecord;

export const isLobbyRecord = (r: AnyCallRecord): r is LobbyRecord => r.meeting_sid === null;

/** The attendee counter of each role. */
export const ROLE_COUNTER: Readonly<Record<Role, keyof Attendees>> = {
  host: "hosts",
  participant: "participants",
  listener: "listeners",
};

/** ISO 8601 with milliseconds and `Z`, as the reference prints dates. */
// Listing calls formats the same join and creation times on every request (toISOString
// was ~4 % of a GET /calls in a profile): recent ones are remembered. Bounded: cleared
// when full, so a burst of distinct times costs one rebuild, never unbounded memory.
const ISO_CACHE_MAX = 8192;
const isoCache = new Map<number, string>();

export function iso(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    if (isoCache.size >= ISO_CACHE_MAX) isoCache.clear();
    isoCache.set(ms, s);
  }
  return s;
}

function seconds(now: number, since: number): number {
  return Math.max(0, Math.floor((now - since) / 1000));
}

/** The public Meeting of a record, `duration` as of `now`. */
export function toMeeting(r: MeetingRecord, now: number): Meeting {
  return {
    account_sid: r.account_sid,
    attendees: { hosts: r.hosts, listeners: r.listeners, participants: r.participants },
    date_created: iso(r.date_created),
    duration: seconds(now, r.date_created),
    locked: r.locked,
    meeting_room_sid: r.meeting_room_sid,
    meeting_sid: r.meeting_sid,
    on_hold: r.on_hold,
    participant_muted: r.participant_muted,
    recording: r.recording,
  };
}

/** The public Call of a record, `duration` as of `now`. */
export function toCall(r: CallRecord, now: number): Call {
  return {
    access_code: r.access_code,
    account_sid: r.account_sid,
    call_sid: r.call_sid,
    codecs: r.codecs,
    date_created: iso(r.date_created),
    date_joined: iso(r.date_joined),
    direction: r.direction,
    duration: seconds(now, r.date_created),
    gain_level: r.gain_level,
    meeting_room_sid: r.meeting_room_sid,
    meeting_sid: r.meeting_sid,
    muted: r.muted,
    name: r.name,
    number_dst: r.number_dst,
    number_src: r.number_src,
    on_hold: r.on_hold,
    role: r.role,
  };
}

/** The public Call of a call at the prompt, `duration` as of `now`. */
export function toLobbyCall(r: LobbyRecord, now: number): LobbyCall {
  return {
    access_code: "",
    account_sid: r.account_sid,
    call_sid: r.call_sid,
    codecs: r.codecs,
    date_created: iso(r.date_created),
    date_joined: null,
    direction: r.direction,
    duration: seconds(now, r.date_created),
    gain_level: 0,
    meeting_room_sid: null,
    meeting_sid: null,
    muted: false,
    name: r.name,
    number_dst: r.number_dst,
    number_src: r.number_src,
    on_hold: false,
    role: null,
  };
}

/** The public Call of a stored call of either kind. */
export function toLiveCall(r: AnyCallRecord, now: number): LiveCall {
  return isLobbyRecord(r) ? toLobbyCall(r, now) : toCall(r, now);
}

export function toMeetingInfo(r: MeetingRecord, now: number): MeetingInfo {
  return { meeting: toMeeting(r, now), meetingKey: r.key, nodeId: r.node, leaseExpiresAt: r.lease };
}

export function toCallInfo(r: AnyCallRecord, now: number): CallInfo {
  return { call: toLiveCall(r, now), nodeId: r.node };
}

// ---- The Redis adapter stores records as JSON (see lua.ts), written by us only.

export const parseMeeting = (json: string): MeetingRecord => JSON.parse(json) as MeetingRecord;
export const parseCall = (json: string): CallRecord => JSON.parse(json) as CallRecord;
export const parseLobby = (json: string): LobbyRecord => JSON.parse(json) as LobbyRecord;
/** A call record of either kind (lobby records have `meeting_sid` null). */
export const parseAnyCall = (json: string): AnyCallRecord => JSON.parse(json) as AnyCallRecord;

// ---- Input checks. Callers (API, mixer) validate user input first; these guard the
// store's invariants, so a violation is a programming error and throws.

/** Canonical role set: the letters of `hpl` that occur in `value`, in that order. */
export function normalizeRoleSet(value: string, field = "on_hold"): string {
  if (!/^[hpl]*$/.test(value)) throw new RangeError(`${field}: must be a set of the letters h, p and l`);
  return ["h", "p", "l"].filter((c) => value.includes(c)).join("");
}

/** Ms since the epoch of a time input. */
export function toMs(t: TimeInput, field: string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === "number" ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new RangeError(`${field}: not a valid time`);
  return ms;
}

function checkParticipantMuted(v: string, field: string): ParticipantMuted {
  if (!(PARTICIPANT_MUTED_VALUES as readonly string[]).includes(v)) {
    throw new RangeError(`${field}: must be one of ${PARTICIPANT_MUTED_VALUES.join(", ")}`);
  }
  return v as ParticipantMuted;
}

function checkGain(v: number, field: string): number {
  if (!Number.isInteger(v)) throw new RangeError(`${field}: must be an integer`);
  return v;
}

/** A call input with defaults filled in and values checked. */
export interface NormalizedCall {
  call_sid: string;
  access_code: string;
  codecs: string;
  number_src: string;
  number_dst: string;
  name: string;
  direction: Call["direction"];
  role: Role;
  date_created: number;
  muted: boolean;
  on_hold: boolean;
  gain_level: number;
}

/** The fields a call has from its INVITE on, at the prompt or joined. */
type PartyInput = Pick<CallInput, "call_sid" | "codecs" | "number_src" | "number_dst" | "name" | "direction" | "date_created">;

/** The {@link PartyInput} fields checked, with defaults; `at` prefixes the field in error messages. */
function normalizeParty(p: PartyInput, now: number, at: string) {
  if (!(DIRECTIONS as readonly string[]).includes(p.direction)) {
    throw new RangeError(`${at}direction: must be one of ${DIRECTIONS.join(", ")}`);
  }
  return {
    call_sid: p.call_sid ?? crypto.randomUUID(),
    codecs: p.codecs,
    number_src: p.number_src,
    number_dst: p.number_dst,
    name: p.name,
    direction: p.direction,
    date_created: p.date_created === undefined ? now : toMs(p.date_created, `${at}date_created`),
  };
}

export function normalizeCallInput(c: CallInput, now: number): NormalizedCall {
  if (!(ROLES as readonly string[]).includes(c.role)) throw new RangeError(`call.role: must be one of ${ROLES.join(", ")}`);
  return {
    ...normalizeParty(c, now, "call."),
    access_code: c.access_code,
    role: c.role,
    muted: c.muted ?? false,
    on_hold: c.on_hold ?? false,
    gain_level: checkGain(c.gain_level ?? 0, "call.gain_level"),
  };
}

/** The lobby record of an {@link EnterInput}, values checked, leased until `now + ttlMs`. */
export function normalizeEnterInput(e: EnterInput, now: number, ttlMs: number): LobbyRecord {
  const party = normalizeParty(e, now, "");
  for (const f of ["account_sid", "codecs", "number_src", "number_dst", "name", "nodeId"] as const) {
    if (typeof e[f] !== "string") throw new RangeError(`${f}: must be a string`);
  }
  return {
    ...party,
    account_sid: e.account_sid,
    meeting_sid: null,
    node: e.nodeId,
    lease: now + ttlMs,
  };
}

/** The patch with values checked and undefined keys dropped. */
export function normalizeCallPatch(p: CallPatch): CallPatch {
  const out: CallPatch = {};
  if (p.muted !== undefined) out.muted = Boolean(p.muted);
  if (p.on_hold !== undefined) out.on_hold = Boolean(p.on_hold);
  if (p.name !== undefined) out.name = String(p.name);
  if (p.gain_level !== undefined) out.gain_level = checkGain(p.gain_level, "gain_level");
  return out;
}

/** The patch with values checked, `on_hold` canonical and undefined keys dropped. */
export function normalizeMeetingPatch(p: MeetingPatch): MeetingPatch {
  const out: MeetingPatch = {};
  if (p.locked !== undefined) out.locked = Boolean(p.locked);
  if (p.on_hold !== undefined) out.on_hold = normalizeRoleSet(p.on_hold, "on_hold");
  if (p.participant_muted !== undefined) {
    out.participant_muted = checkParticipantMuted(p.participant_muted, "participant_muted");
  }
  if (p.recording !== undefined) out.recording = Boolean(p.recording);
  return out;
}

export function normalizeInitialMeeting(m: { participant_muted?: string; on_hold?: string } | undefined): {
  participant_muted: ParticipantMuted;
  on_hold: string;
} {
  return {
    participant_muted: checkParticipantMuted(m?.participant_muted ?? "false", "initialMeeting.participant_muted"),
    on_hold: normalizeRoleSet(m?.on_hold ?? "", "initialMeeting.on_hold"),
  };
}
