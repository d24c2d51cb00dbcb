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

/** A call as stored. Field names double as Redis hash fields. */
export interface CallRecord {
  access_code: string;
  account_sid: string;
  call_sid: string;
  codecs: string;
  date_created: number;
  date_joined: number;
  direction: Call["direction"];
  gain_level: number;
  meeting_room_sid: string | null;
  meeting_sid: string;
  muted: boolean;
  name: string;
  number_dst: string;
  number_src: string;
  on_hold: boolean;
  role: Role;
  node: string;
}

/** The attendee counter of each role. */
export const ROLE_COUNTER: Readonly<Record<Role, keyof Attendees>> = {
  host: "hosts",
  participant: "participants",
  listener: "listeners",
};

/** ISO 8601 with milliseconds and `Z`, as the reference prints dates. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
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

export function toMeetingInfo(r: MeetingRecord, now: number): MeetingInfo {
  return { meeting: toMeeting(r, now), meetingKey: r.key, nodeId: r.node, leaseExpiresAt: r.lease };
}

export function toCallInfo(r: CallRecord, now: number): CallInfo {
  return { call: toCall(r, now), nodeId: r.node };
}

// ---- Redis hash encoding: strings, booleans as "1"/"0", a null room as an absent field.

/** Flat `[field, value, ...]` (HGETALL's reply) to an object. */
export function pairs(flat: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string;
  return o;
}

function str(h: Record<string, string>, f: string): string {
  const v = h[f];
  if (v === undefined) throw new Error(`session-store: stored record lacks ${f}`);
  return v;
}
const num = (h: Record<string, string>, f: string) => Number(str(h, f));
const bool = (h: Record<string, string>, f: string) => str(h, f) === "1";

export function meetingFromHash(h: Record<string, string>): MeetingRecord {
  return {
    account_sid: str(h, "account_sid"),
    meeting_sid: str(h, "meeting_sid"),
    meeting_room_sid: h.meeting_room_sid ?? null,
    date_created: num(h, "date_created"),
    locked: bool(h, "locked"),
    on_hold: str(h, "on_hold"),
    participant_muted: str(h, "participant_muted") as ParticipantMuted,
    recording: bool(h, "recording"),
    hosts: num(h, "hosts"),
    participants: num(h, "participants"),
    listeners: num(h, "listeners"),
    key: str(h, "key"),
    node: str(h, "node"),
    lease: num(h, "lease"),
  };
}

export function callFromHash(h: Record<string, string>): CallRecord {
  return {
    access_code: str(h, "access_code"),
    account_sid: str(h, "account_sid"),
    call_sid: str(h, "call_sid"),
    codecs: str(h, "codecs"),
    date_created: num(h, "date_created"),
    date_joined: num(h, "date_joined"),
    direction: str(h, "direction") as Call["direction"],
    gain_level: num(h, "gain_level"),
    meeting_room_sid: h.meeting_room_sid ?? null,
    meeting_sid: str(h, "meeting_sid"),
    muted: bool(h, "muted"),
    name: str(h, "name"),
    number_dst: str(h, "number_dst"),
    number_src: str(h, "number_src"),
    on_hold: bool(h, "on_hold"),
    role: str(h, "role") as Role,
    node: str(h, "node"),
  };
}

/** A patch's values in hash encoding, as `[field, value, ...]`. */
export function patchToFlat(patch: CallPatch | MeetingPatch): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out.push(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return out;
}

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

export function normalizeCallInput(c: CallInput, now: number): NormalizedCall {
  if (!(ROLES as readonly string[]).includes(c.role)) throw new RangeError(`call.role: must be one of ${ROLES.join(", ")}`);
  if (!(DIRECTIONS as readonly string[]).includes(c.direction)) {
    throw new RangeError(`call.direction: must be one of ${DIRECTIONS.join(", ")}`);
  }
  return {
    call_sid: c.call_sid ?? crypto.randomUUID(),
    access_code: c.access_code,
    codecs: c.codecs,
    number_src: c.number_src,
    number_dst: c.number_dst,
    name: c.name,
    direction: c.direction,
    role: c.role,
    date_created: c.date_created === undefined ? now : toMs(c.date_created, "call.date_created"),
    muted: c.muted ?? false,
    on_hold: c.on_hold ?? false,
    gain_level: checkGain(c.gain_level ?? 0, "call.gain_level"),
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
