/** The Redis adapter: every operation is one command, a Lua script where it must be atomic (lua.ts). */
import type { Redis } from "ioredis";
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
import { rethrowUnavailable } from "./errors.ts";
import { runScript, type ScriptName } from "./lua.ts";
import {
  type AnyCallRecord,
  type CallRecord,
  type LobbyRecord,
  type MeetingRecord,
  parseAnyCall,
  parseCall,
  parseLobby,
  parseMeeting,
} from "./records.ts";
import type { CallPatch, MeetingPatch } from "./types.ts";

function destroyed(reply: unknown): Destroyed | null {
  if (!Array.isArray(reply)) return null;
  const [m, calls] = reply as [string, string[]];
  return { meeting: parseMeeting(m), calls: calls.map(parseCall) };
}

function destroyedList(reply: unknown): Destroyed[] {
  return (reply as unknown[]).map(destroyed).filter((d): d is Destroyed => d !== null);
}

export class RedisBackend implements Backend {
  #r: Redis;
  #prefix: string;
  #owned: boolean;
  #closed = false;

  /** `owned`: whether `close()` quits the connection. */
  constructor(redis: Redis, prefix: string, owned: boolean) {
    this.#r = redis;
    this.#prefix = prefix;
    this.#owned = owned;
  }

  #run(name: ScriptName, now: number, ...args: (string | number)[]): Promise<unknown> {
    return runScript(this.#r, name, [this.#prefix, now, ...args]).catch(rethrowUnavailable);
  }

  async join(i: RawJoinInput): Promise<RawJoin> {
    const meeting = newMeetingRecord(i);
    // account_sid, meeting_room_sid and meeting_sid come from the meeting the script finds.
    const call: CallRecord = {
      ...i.call,
      account_sid: i.accountSid,
      meeting_room_sid: null,
      meeting_sid: "",
      date_joined: i.now,
      node: i.nodeId,
    };
    const e = i.epoch;
    const reply = (await this.#run(
      "join",
      i.now,
      i.key,
      JSON.stringify(meeting),
      JSON.stringify(call),
      e.known,
      e.candidate,
      Math.max(1, Math.round(e.graceMs)),
      i.force ? "1" : "0",
    )) as unknown[];
    switch (reply[0]) {
      case "ok":
        return {
          status: "ok",
          created: reply[1] === 1,
          meeting: parseMeeting(reply[2] as string),
          call: parseCall(reply[3] as string),
          reaped: destroyed(reply[4]),
          epoch: reply[5] as string,
        };
      case "locked":
        return {
          status: "locked",
          meeting: parseMeeting(reply[1] as string),
          reaped: destroyed(reply[2]),
          epoch: reply[3] as string,
        };
      case "duplicate":
        return { status: "duplicate", epoch: reply[1] as string };
      case "wait":
        return { status: "wait", epoch: reply[1] as string };
      default:
        throw new Error(`session-store: unexpected join reply ${String(reply[0])}`);
    }
  }

  async leave(callSid: string, now: number): Promise<RawLeave | null> {
    const reply = (await this.#run("leave", now, callSid)) as [string, string | null, number] | null;
    if (!reply) return null;
    const [c, m, ended] = reply;
    if (!m) throw new Error(`session-store: call ${callSid} belongs to no meeting`);
    return { call: parseCall(c), meeting: parseMeeting(m), ended: ended === 1 };
  }

  async getCall(callSid: string, now: number): Promise<AnyCallRecord | null> {
    const reply = (await this.#run("getCall", now, callSid)) as [string, string | null] | null;
    return reply && reply[1] !== null && Number(reply[1]) > now ? parseAnyCall(reply[0]) : null;
  }

  async enter(record: LobbyRecord, now: number): Promise<boolean> {
    const reply = await this.#run(
      "enter",
      now,
      record.call_sid,
      JSON.stringify(record),
      record.account_sid,
      record.node,
      record.lease,
    );
    return reply === 1;
  }

  async leaveLobby(callSid: string, now: number): Promise<LobbyRecord | null> {
    const reply = await this.#run("leaveLobby", now, callSid);
    return typeof reply === "string" ? parseLobby(reply) : null;
  }

  async getMeeting(meetingSid: string, now: number): Promise<MeetingRecord | null> {
    // A plain GET: the record carries its lease, so no script is needed to check it.
    const json = await this.#r.get(`${this.#prefix}m:${meetingSid}`).catch(rethrowUnavailable);
    const m = json === null ? null : parseMeeting(json);
    return m && m.lease > now ? m : null;
  }

  async getMeetingByKey(key: string, now: number): Promise<{ meeting: MeetingRecord | null; settling: boolean }> {
    const [json, settling] = (await this.#run("getMeetingByKey", now, key)) as [string | null, number];
    const m = json === null ? null : parseMeeting(json);
    return { meeting: m && m.lease > now ? m : null, settling: settling === 1 };
  }

  async listCalls(accountSid: string, now: number): Promise<RawList<AnyCallRecord>> {
    const [calls, msids, leases, lobby] = (await this.#run("listCalls", now, accountSid)) as [
      string[],
      string[],
      (string | null)[],
      string[],
    ];
    const live = new Set<string>();
    let sawExpired = false;
    msids.forEach((sid, i) => {
      const l = leases[i];
      if (l != null && Number(l) > now) live.add(sid);
      else sawExpired = true;
    });
    const items: AnyCallRecord[] = [];
    for (const json of calls) {
      const c = parseCall(json);
      if (live.has(c.meeting_sid)) items.push(c);
    }
    for (const json of lobby) {
      const l = parseLobby(json);
      if (l.lease > now) items.push(l);
      else sawExpired = true;
    }
    return { items, sawExpired };
  }

  async listCallsPage(accountSid: string, now: number, offset: number, limit: number): Promise<RawPage<AnyCallRecord>> {
    const [calls, total, expired] = (await this.#run("listCallsPage", now, accountSid, offset, limit)) as [
      string[],
      number,
      number,
    ];
    return { items: calls.map(parseAnyCall), total, sawExpired: expired === 1 };
  }

  async listMeetings(accountSid: string, now: number): Promise<RawList<MeetingRecord>> {
    const all = ((await this.#run("listMeetings", now, accountSid)) as string[]).map(parseMeeting);
    const items = all.filter((m) => m.lease > now);
    return { items, sawExpired: items.length < all.length };
  }

  async listCallsOfMeeting(meetingSid: string, now: number): Promise<CallRecord[]> {
    const [m, calls] = (await this.#run("listCallsOfMeeting", now, meetingSid)) as [string | null, string[]];
    return m !== null && parseMeeting(m).lease > now ? calls.map(parseCall) : [];
  }

  async updateCall(callSid: string, patch: CallPatch, now: number): Promise<RawUpdate<CallRecord> | null> {
    const reply = (await this.#run("updateCall", now, callSid, JSON.stringify(patch))) as [string, string[]] | null;
    return reply ? { record: parseCall(reply[0]), changed: reply[1] } : null;
  }

  async updateMeeting(meetingSid: string, patch: MeetingPatch, now: number): Promise<RawUpdate<MeetingRecord> | null> {
    const reply = (await this.#run("updateMeeting", now, meetingSid, JSON.stringify(patch))) as [string, string[]] | null;
    return reply ? { record: parseMeeting(reply[0]), changed: reply[1] } : null;
  }

  async endMeeting(meetingSid: string, now: number): Promise<Destroyed | null> {
    return destroyed(await this.#run("endMeeting", now, meetingSid));
  }

  async renewLease(
    nodeId: string,
    ttlMs: number,
    now: number,
    e: EpochInput,
  ): Promise<{ renewed: number; lost: Destroyed[]; epoch: string }> {
    const [renewed, lost, epoch] = (await this.#run(
      "renewLease",
      now,
      nodeId,
      now + ttlMs,
      e.known,
      e.candidate,
      Math.max(1, Math.round(e.graceMs)),
    )) as [number, unknown[], string];
    return { renewed, lost: destroyedList(lost), epoch };
  }

  async epoch(e: EpochInput): Promise<string> {
    return (await this.#run("epoch", 0, e.known, e.candidate, Math.max(1, Math.round(e.graceMs)))) as string;
  }

  async restore(meeting: MeetingRecord, calls: CallRecord[], now: number): Promise<RawRestore> {
    // cjson decodes an empty JSON array as an object; a restore has calls, but be exact.
    const [status, m, added, tookKey] = (await this.#run(
      "restore",
      now,
      JSON.stringify(meeting),
      calls.length ? JSON.stringify(calls) : "{}",
    )) as [RawRestore["status"], string, string[], number];
    return { status, meeting: parseMeeting(m), added: added.map(parseCall), tookKey: tookKey === 1 };
  }

  async reapExpired(now: number, limit: number): Promise<{ meetings: Destroyed[]; lobby: LobbyRecord[] }> {
    const [meetings, lobby] = (await this.#run("reapExpired", now, limit)) as [unknown[], string[]];
    return { meetings: destroyedList(meetings), lobby: lobby.map(parseLobby) };
  }

  async moveMeeting(meetingSid: string, from: string, to: string, lease: number, now: number): Promise<MeetingRecord | null> {
    const reply = await this.#run("moveMeeting", now, meetingSid, from, to, lease);
    return typeof reply === "string" ? parseMeeting(reply) : null;
  }

  async publishToOwner(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null> {
    const reply = await this.#run("publishToOwner", now, meetingSid, channelPrefix, payload);
    return typeof reply === "number" ? reply : null;
  }

  async publishToMeeting(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null> {
    const reply = await this.#run("publishToMeeting", now, meetingSid, channelPrefix, payload);
    return typeof reply === "number" ? reply : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#r.quit().catch(() => this.#r.disconnect());
  }
}
