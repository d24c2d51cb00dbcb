/** The Redis adapter: every operation is one Lua script (see lua.ts), so one round trip. */
import type { Redis } from "ioredis";
import type { Backend, Destroyed, RawJoin, RawJoinInput, RawLeave, RawList, RawUpdate } from "./backend.ts";
import { runScript } from "./lua.ts";
import { type CallRecord, callFromHash, type MeetingRecord, meetingFromHash, pairs, patchToFlat } from "./records.ts";
import type { CallPatch, MeetingPatch } from "./types.ts";

type Flat = string[];

const meeting = (flat: unknown): MeetingRecord => meetingFromHash(pairs(flat as Flat));
const call = (flat: unknown): CallRecord => callFromHash(pairs(flat as Flat));
const present = (flat: unknown): boolean => Array.isArray(flat) && flat.length > 0;

function destroyed(reply: unknown): Destroyed | null {
  if (!Array.isArray(reply)) return null;
  const [m, calls] = reply as [Flat, Flat[]];
  return { meeting: meeting(m), calls: calls.map(call) };
}

const bool = (b: boolean) => (b ? "1" : "0");

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

  #run(name: Parameters<typeof runScript>[1], now: number, ...args: (string | number)[]): Promise<unknown> {
    return runScript(this.#r, name, [this.#prefix, now, ...args]);
  }

  async join(i: RawJoinInput): Promise<RawJoin> {
    const c = i.call;
    const reply = (await this.#run(
      "join",
      i.now,
      i.now + i.ttlMs,
      i.key,
      i.newMeetingSid,
      i.accountSid,
      i.roomSid ?? "",
      i.nodeId,
      i.participantMuted,
      i.onHold,
      c.call_sid,
      c.role,
      c.access_code,
      c.codecs,
      c.number_src,
      c.number_dst,
      c.name,
      c.direction,
      c.date_created,
      bool(c.muted),
      bool(c.on_hold),
      c.gain_level,
    )) as unknown[];
    switch (reply[0]) {
      case "ok":
        return {
          status: "ok",
          created: reply[1] === 1,
          meeting: meeting(reply[2]),
          call: call(reply[3]),
          reaped: destroyed(reply[4]),
        };
      case "locked":
        return { status: "locked", meeting: meeting(reply[1]), reaped: destroyed(reply[2]) };
      case "duplicate":
        return { status: "duplicate" };
      default:
        throw new Error(`session-store: unexpected join reply ${String(reply[0])}`);
    }
  }

  async leave(callSid: string, now: number): Promise<RawLeave | null> {
    const reply = (await this.#run("leave", now, callSid)) as [Flat, Flat | null, number] | null;
    if (!reply) return null;
    const [c, m, ended] = reply;
    if (!m) throw new Error(`session-store: call ${callSid} belongs to no meeting`);
    return { call: call(c), meeting: meeting(m), ended: ended === 1 };
  }

  async getCall(callSid: string, now: number): Promise<CallRecord | null> {
    const reply = await this.#run("getCall", now, callSid);
    return present(reply) ? call(reply) : null;
  }

  async getMeeting(meetingSid: string, now: number): Promise<MeetingRecord | null> {
    const reply = await this.#run("getMeeting", now, meetingSid);
    return present(reply) ? meeting(reply) : null;
  }

  async getMeetingByKey(key: string, now: number): Promise<MeetingRecord | null> {
    const reply = await this.#run("getMeetingByKey", now, key);
    return present(reply) ? meeting(reply) : null;
  }

  async listCalls(accountSid: string, now: number): Promise<RawList<CallRecord>> {
    const [expired, items] = (await this.#run("listCalls", now, accountSid)) as [number, Flat[]];
    return { items: items.map(call), sawExpired: expired === 1 };
  }

  async listMeetings(accountSid: string, now: number): Promise<RawList<MeetingRecord>> {
    const [expired, items] = (await this.#run("listMeetings", now, accountSid)) as [number, Flat[]];
    return { items: items.map(meeting), sawExpired: expired === 1 };
  }

  async listCallsOfMeeting(meetingSid: string, now: number): Promise<CallRecord[]> {
    return ((await this.#run("listCallsOfMeeting", now, meetingSid)) as Flat[]).map(call);
  }

  async updateCall(callSid: string, patch: CallPatch, now: number): Promise<RawUpdate<CallRecord> | null> {
    const reply = (await this.#run("updateCall", now, callSid, ...patchToFlat(patch))) as [Flat, string[]] | null;
    return reply ? { record: call(reply[0]), changed: reply[1] } : null;
  }

  async updateMeeting(meetingSid: string, patch: MeetingPatch, now: number): Promise<RawUpdate<MeetingRecord> | null> {
    const reply = (await this.#run("updateMeeting", now, meetingSid, ...patchToFlat(patch))) as [Flat, string[]] | null;
    return reply ? { record: meeting(reply[0]), changed: reply[1] } : null;
  }

  async endMeeting(meetingSid: string, now: number): Promise<Destroyed | null> {
    return destroyed(await this.#run("endMeeting", now, meetingSid));
  }

  async renewLease(nodeId: string, ttlMs: number, now: number): Promise<{ renewed: number; lost: Destroyed[] }> {
    const [renewed, lost] = (await this.#run("renewLease", now, nodeId, now + ttlMs)) as [number, unknown[]];
    return { renewed, lost: lost.map((d) => destroyed(d)).filter((d): d is Destroyed => d !== null) };
  }

  async reapExpired(now: number, limit: number): Promise<Destroyed[]> {
    const reply = (await this.#run("reapExpired", now, limit)) as unknown[];
    return reply.map((d) => destroyed(d)).filter((d): d is Destroyed => d !== null);
  }

  async publishToOwner(meetingSid: string, now: number, channelPrefix: string, payload: string): Promise<number | null> {
    const reply = await this.#run("publishToOwner", now, meetingSid, channelPrefix, payload);
    return typeof reply === "number" ? reply : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#r.quit().catch(() => this.#r.disconnect());
  }
}
