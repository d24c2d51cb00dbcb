/**
 * The in-process adapter. Each method runs start to finish without an `await`, so on
 * JavaScript's single thread no two operations interleave: that is the atomicity the
 * Redis adapter gets from Lua.
 */
import {
  type Backend,
  type Destroyed,
  type EpochInput,
  newMeetingRecord,
  type RawRestore,
  type RawJoin,
  type RawJoinInput,
  type RawLeave,
  type RawList,
  type RawPage,
  type RawUpdate,
} from "./backend.ts";
import type { Transport } from "./pubsub.ts";
import { type AnyCallRecord, type CallRecord, type LobbyRecord, type MeetingRecord, ROLE_COUNTER } from "./records.ts";
import type { CallPatch, MeetingPatch } from "./types.ts";

/** The records and indexes behind one prefix. */
class MemoryState {
  meetings = new Map<string, MeetingRecord>();
  calls = new Map<string, CallRecord>();
  byKey = new Map<string, string>();
  accountMeetings = new Map<string, Set<string>>();
  accountCalls = new Map<string, Set<string>>();
  nodeMeetings = new Map<string, Set<string>>();
  meetingCalls = new Map<string, Set<string>>();
  /** Calls at the access-code prompt, and their indexes by account and by node. */
  lobby = new Map<string, LobbyRecord>();
  accountLobby = new Map<string, Set<string>>();
  nodeLobby = new Map<string, Set<string>>();
  refs = 0;
  // In-process state is never lost under a running client: one epoch for its whole life.
  readonly epoch = crypto.randomUUID();
}

// Stores with the same prefix in one process share their state, as clients of one Redis
// server do; the state is dropped when the last of them closes.
const states = new Map<string, MemoryState>();

function add(index: Map<string, Set<string>>, k: string, v: string): void {
  let s = index.get(k);
  if (!s) index.set(k, (s = new Set()));
  s.add(v);
}

function remove(index: Map<string, Set<string>>, k: string, v: string): void {
  const s = index.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) index.delete(k);
}

const copyM = (m: MeetingRecord): MeetingRecord => ({ ...m });
const copyC = (c: CallRecord): CallRecord => ({ ...c });
const copyL = (l: LobbyRecord): LobbyRecord => ({ ...l });

export class MemoryBackend implements Backend {
  #prefix: string;
  #s: MemoryState;
  #transport: Transport;
  #closed = false;

  constructor(prefix: string, transport: Transport) {
    this.#prefix = prefix;
    let s = states.get(prefix);
    if (!s) states.set(prefix, (s = new MemoryState()));
    s.refs++;
    this.#s = s;
    this.#transport = transport;
  }

  #alive(meetingSid: string, now: number): MeetingRecord | null {
    const m = this.#s.meetings.get(meetingSid);
    return m && m.lease > now ? m : null;
  }

  #destroy(meetingSid: string): Destroyed | null {
    const s = this.#s;
    const m = s.meetings.get(meetingSid);
    if (!m) return null;
    const calls: CallRecord[] = [];
    for (const cs of s.meetingCalls.get(meetingSid) ?? []) {
      const c = s.calls.get(cs);
      if (!c) continue;
      calls.push(c);
      s.calls.delete(cs);
      remove(s.accountCalls, c.account_sid, cs);
    }
    s.meetingCalls.delete(meetingSid);
    s.meetings.delete(meetingSid);
    if (s.byKey.get(m.key) === meetingSid) s.byKey.delete(m.key);
    remove(s.accountMeetings, m.account_sid, meetingSid);
    remove(s.nodeMeetings, m.node, meetingSid);
    return { meeting: m, calls };
  }

  #dropLobby(callSid: string): LobbyRecord | null {
    const s = this.#s;
    const l = s.lobby.get(callSid);
    if (!l) return null;
    s.lobby.delete(callSid);
    remove(s.accountLobby, l.account_sid, callSid);
    remove(s.nodeLobby, l.node, callSid);
    return l;
  }

  async join(i: RawJoinInput): Promise<RawJoin> {
    const s = this.#s;
    let reaped: Destroyed | null = null;
    let msid = s.byKey.get(i.key);
    if (msid !== undefined && !this.#alive(msid, i.now)) {
      reaped = this.#destroy(msid);
      msid = undefined;
    }
    const epoch = s.epoch;
    if (s.calls.has(i.call.call_sid)) return { status: "duplicate", epoch };
    let m = msid === undefined ? undefined : s.meetings.get(msid);
    if (m && m.locked && i.call.role !== "host") return { status: "locked", meeting: copyM(m), reaped, epoch };
    let created = false;
    if (!m) {
      created = true;
      m = newMeetingRecord(i);
      s.meetings.set(m.meeting_sid, m);
      s.byKey.set(i.key, m.meeting_sid);
      add(s.accountMeetings, m.account_sid, m.meeting_sid);
      add(s.nodeMeetings, m.node, m.meeting_sid);
    }
    const c: CallRecord = {
      ...i.call,
      // The meeting is the authority on account and room: a call joins what exists.
      account_sid: m.account_sid,
      meeting_room_sid: m.meeting_room_sid,
      meeting_sid: m.meeting_sid,
      date_joined: i.now,
      node: i.nodeId,
    };
    s.calls.set(c.call_sid, c);
    add(s.meetingCalls, m.meeting_sid, c.call_sid);
    add(s.accountCalls, c.account_sid, c.call_sid);
    m[ROLE_COUNTER[c.role]]++;
    // The caller at the prompt is this call now: same sid, one record.
    this.#dropLobby(c.call_sid);
    return { status: "ok", created, meeting: copyM(m), call: copyC(c), reaped, epoch };
  }

  async leave(callSid: string, _now: number): Promise<RawLeave | null> {
    const s = this.#s;
    const c = s.calls.get(callSid);
    if (!c) return null;
    const m = s.meetings.get(c.meeting_sid);
    s.calls.delete(callSid);
    remove(s.meetingCalls, c.meeting_sid, callSid);
    remove(s.accountCalls, c.account_sid, callSid);
    if (!m) throw new Error(`session-store: call ${callSid} belongs to no meeting`);
    m[ROLE_COUNTER[c.role]]--;
    if (!s.meetingCalls.has(m.meeting_sid)) {
      this.#destroy(m.meeting_sid);
      return { call: c, meeting: m, ended: true };
    }
    return { call: c, meeting: copyM(m), ended: false };
  }

  async enter(record: LobbyRecord, _now: number): Promise<boolean> {
    const s = this.#s;
    if (s.calls.has(record.call_sid) || s.lobby.has(record.call_sid)) return false;
    s.lobby.set(record.call_sid, copyL(record));
    add(s.accountLobby, record.account_sid, record.call_sid);
    add(s.nodeLobby, record.node, record.call_sid);
    return true;
  }

  async leaveLobby(callSid: string, _now: number): Promise<LobbyRecord | null> {
    return this.#dropLobby(callSid);
  }

  async getCall(callSid: string, now: number): Promise<AnyCallRecord | null> {
    const c = this.#s.calls.get(callSid);
    if (c) return this.#alive(c.meeting_sid, now) ? copyC(c) : null;
    const l = this.#s.lobby.get(callSid);
    return l && l.lease > now ? copyL(l) : null;
  }

  async getMeeting(meetingSid: string, now: number): Promise<MeetingRecord | null> {
    const m = this.#alive(meetingSid, now);
    return m ? copyM(m) : null;
  }

  async getMeetingByKey(key: string, now: number): Promise<{ meeting: MeetingRecord | null; settling: boolean }> {
    const msid = this.#s.byKey.get(key);
    return { meeting: msid === undefined ? null : await this.getMeeting(msid, now), settling: false };
  }

  async listCalls(accountSid: string, now: number): Promise<RawList<AnyCallRecord>> {
    const { items, sawExpired } = await this.listCallsPage(accountSid, now, 0, Number.POSITIVE_INFINITY);
    return { items, sawExpired };
  }

  async listCallsPage(accountSid: string, now: number, offset: number, limit: number): Promise<RawPage<AnyCallRecord>> {
    const items: AnyCallRecord[] = [];
    let sawExpired = false;
    let total = 0;
    for (const cs of this.#s.accountCalls.get(accountSid) ?? []) {
      const c = this.#s.calls.get(cs);
      if (!c) continue;
      if (!this.#alive(c.meeting_sid, now)) {
        sawExpired = true;
        continue;
      }
      total++;
      if (total > offset && total <= offset + limit) items.push(copyC(c));
    }
    // Then the calls at the prompt, in the same kind of order.
    for (const cs of this.#s.accountLobby.get(accountSid) ?? []) {
      const l = this.#s.lobby.get(cs);
      if (!l) continue;
      if (l.lease <= now) {
        sawExpired = true;
        continue;
      }
      total++;
      if (total > offset && total <= offset + limit) items.push(copyL(l));
    }
    return { items, total, sawExpired };
  }

  async listMeetings(accountSid: string, now: number): Promise<RawList<MeetingRecord>> {
    const items: MeetingRecord[] = [];
    let sawExpired = false;
    for (const ms of this.#s.accountMeetings.get(accountSid) ?? []) {
      const m = this.#alive(ms, now);
      if (m) items.push(copyM(m));
      else sawExpired = true;
    }
    return { items, sawExpired };
  }

  async listCallsOfMeeting(meetingSid: string, now: number): Promise<CallRecord[]> {
    if (!this.#alive(meetingSid, now)) return [];
    const out: CallRecord[] = [];
    for (const cs of this.#s.meetingCalls.get(meetingSid) ?? []) {
      const c = this.#s.calls.get(cs);
      if (c) out.push(copyC(c));
    }
    return out;
  }

  async updateCall(callSid: string, patch: CallPatch, now: number): Promise<RawUpdate<CallRecord> | null> {
    const c = this.#s.calls.get(callSid);
    if (!c || !this.#alive(c.meeting_sid, now)) return null;
    const changed: string[] = [];
    for (const [k, v] of Object.entries(patch) as [keyof CallPatch, CallPatch[keyof CallPatch]][]) {
      if (v === undefined || c[k] === v) continue;
      (c as unknown as Record<string, unknown>)[k] = v;
      changed.push(k);
    }
    return { record: copyC(c), changed };
  }

  async updateMeeting(meetingSid: string, patch: MeetingPatch, now: number): Promise<RawUpdate<MeetingRecord> | null> {
    const m = this.#alive(meetingSid, now);
    if (!m) return null;
    const changed: string[] = [];
    for (const [k, v] of Object.entries(patch) as [keyof MeetingPatch, MeetingPatch[keyof MeetingPatch]][]) {
      if (v === undefined || m[k] === v) continue;
      (m as unknown as Record<string, unknown>)[k] = v;
      changed.push(k);
    }
    return { record: copyM(m), changed };
  }

  async endMeeting(meetingSid: string, now: number): Promise<Destroyed | null> {
    return this.#alive(meetingSid, now) ? this.#destroy(meetingSid) : null;
  }

  async renewLease(
    nodeId: string,
    ttlMs: number,
    now: number,
    _epoch: EpochInput,
  ): Promise<{ renewed: number; lost: Destroyed[]; epoch: string }> {
    let renewed = 0;
    const lost: Destroyed[] = [];
    for (const ms of [...(this.#s.nodeMeetings.get(nodeId) ?? [])]) {
      const m = this.#alive(ms, now);
      if (m) {
        m.lease = now + ttlMs;
        renewed++;
      } else {
        // Its lease ran out before this renewal: others may already have replaced it
        // under the same key, so it is not revived.
        const d = this.#destroy(ms);
        if (d) lost.push(d);
      }
    }
    // Its calls at the prompt too; one whose lease ran out is the reaper's (not revived).
    for (const cs of this.#s.nodeLobby.get(nodeId) ?? []) {
      const l = this.#s.lobby.get(cs);
      if (l && l.lease > now) l.lease = now + ttlMs;
    }
    return { renewed, lost, epoch: this.#s.epoch };
  }

  async epoch(_epoch: EpochInput): Promise<string> {
    return this.#s.epoch;
  }

  /** As the Redis `restore` script (lua.ts); here only for parity, since nothing is ever lost. */
  async restore(meeting: MeetingRecord, calls: CallRecord[], now: number): Promise<RawRestore> {
    const s = this.#s;
    const msid = meeting.meeting_sid;
    let status: RawRestore["status"] = "merged";
    let cur = this.#alive(msid, now);
    if (!cur) {
      this.#destroy(msid);
      status = "created";
      cur = { ...meeting };
      s.meetings.set(msid, cur);
      add(s.accountMeetings, cur.account_sid, msid);
      add(s.nodeMeetings, cur.node, msid);
    }
    let tookKey = false;
    let other = s.byKey.get(cur.key);
    if (other !== undefined && other !== msid && !this.#alive(other, now)) {
      this.#destroy(other);
      other = undefined;
    }
    if (other !== msid) {
      const o = other === undefined ? undefined : s.meetings.get(other);
      if (!o || o.date_created > cur.date_created) {
        s.byKey.set(cur.key, msid);
        tookKey = true;
      }
    }
    const added: CallRecord[] = [];
    for (const c0 of calls) {
      if (s.calls.has(c0.call_sid)) continue;
      const c = { ...c0, account_sid: cur.account_sid, meeting_room_sid: cur.meeting_room_sid, meeting_sid: msid };
      s.calls.set(c.call_sid, c);
      add(s.meetingCalls, msid, c.call_sid);
      add(s.accountCalls, c.account_sid, c.call_sid);
      cur[ROLE_COUNTER[c.role]]++;
      this.#dropLobby(c.call_sid);
      added.push(copyC(c));
    }
    return { status, meeting: copyM(cur), added, tookKey };
  }

  async reapExpired(now: number, limit: number): Promise<{ meetings: Destroyed[]; lobby: LobbyRecord[] }> {
    const meetings: Destroyed[] = [];
    for (const [ms, m] of this.#s.meetings) {
      if (meetings.length >= limit) break;
      if (m.lease > now) continue;
      const d = this.#destroy(ms);
      if (d) meetings.push(d);
    }
    const lobby: LobbyRecord[] = [];
    for (const [cs, l] of this.#s.lobby) {
      if (lobby.length >= limit) break;
      if (l.lease > now) continue;
      const d = this.#dropLobby(cs);
      if (d) lobby.push(d);
    }
    return { meetings, lobby };
  }

  async moveMeeting(meetingSid: string, from: string, to: string, lease: number, _now: number): Promise<MeetingRecord | null> {
    const m = this.#s.meetings.get(meetingSid);
    if (!m) return null;
    if (m.node === from) {
      remove(this.#s.nodeMeetings, m.node, meetingSid);
      m.node = to;
      m.lease = lease;
      add(this.#s.nodeMeetings, to, meetingSid);
    }
    return copyM(m);
  }

  async publishToOwner(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null> {
    const m = this.#alive(meetingSid, now);
    return m ? this.#transport.publish(channelPrefix + m.node, payload) : null;
  }

  async publishToMeeting(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null> {
    const m = this.#alive(meetingSid, now);
    if (!m) return null;
    const nodes = new Set([m.node]);
    for (const cs of this.#s.meetingCalls.get(meetingSid) ?? []) {
      const c = this.#s.calls.get(cs);
      if (c) nodes.add(c.node);
    }
    let n = 0;
    for (const node of nodes) n += await this.#transport.publish(channelPrefix + node, payload);
    return n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (--this.#s.refs === 0 && states.get(this.#prefix) === this.#s) states.delete(this.#prefix);
  }
}
