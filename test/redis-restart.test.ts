/**
 * End to end: Redis goes away under a running meeting, on a redis-server of this test's
 * own (the service is pointed at it). Killed and restarted empty: the callers keep
 * talking, the mixer writes its meeting and calls back with the same sids and state,
 * and a new caller of the room joins that meeting (hears and is heard), never a new
 * one; a caller still at the access-code prompt is listed again too. Frozen (SIGSTOP): the API answers 503 in the reference's error shape within 2 s,
 * and recovers after SIGCONT.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { OwnRedis } from "@conf/session-store/testing/redis-server";
import { type Call, HEARD_DB, HOST_HZ, LIST_HZ, type Meeting, MeetingHarness } from "./lib/meeting-harness.ts";
import { eventually } from "./lib/service.ts";

let redis: OwnRedis;
let h: MeetingHarness;

beforeAll(async () => {
  redis = await OwnRedis.start();
  h = await MeetingHarness.start({ number: "15162065771", env: { REDIS_URL: redis.url } });
}, 60_000);
afterEach(async () => {
  redis.thaw();
  await h.clear();
});
afterAll(async () => {
  await h?.stop();
  await redis?.stop();
});

/** The account's calls, or null while the API cannot list them. */
async function callsOrNull(): Promise<Call[] | null> {
  const r = await h.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls?limit=100");
  return r.status === 200 ? r.body.items : null;
}

describe("Redis restarted or frozen under a running meeting", () => {
  test("restarted empty: the meeting and its calls come back with their sids and state; a new caller joins it", async () => {
    const room = await h.room("redis-restart", {});
    const { host, part } = await h.hostAndParticipant(room);
    const meetingSid = host.meetingSid;
    expect(part.meetingSid).toBe(meetingSid);
    // State the restore must keep: a muted participant, a meeting that mutes participants.
    expect((await h.acct.account.req("PATCH", `/conference/v2/calls/${part.callSid}`, { muted: true })).status).toBe(200);
    expect(
      (await h.acct.account.req("PATCH", `/conference/v2/meetings/${meetingSid}`, { participant_muted: "relaxed" })).status,
    ).toBe(200);
    await h.untilMuted(part, true);
    const before = (await h.calls()).map((c) => c.call_sid).sort();
    // A caller still at the access-code prompt: listed with no meeting, and again after.
    const waiting = h.phone(LIST_HZ);
    waiting.b.dial(`sip:${h.number}@127.0.0.1:${h.svc.sipPort}`, 60);
    await waiting.b.waitFor(/Call established/, 10_000);
    const atPrompt = await eventually(
      async () => (await h.calls()).find((c) => c.number_src.includes(`sip:${waiting.user}@`)),
      10_000,
      "the caller at the prompt listed",
    );
    expect(atPrompt.meeting_sid).toBeNull();

    await redis.restart();
    const t0 = Date.now();
    const after = await eventually(
      async () => {
        const calls = await callsOrNull();
        return calls && calls.length === 3 ? calls : null;
      },
      10_000,
      "the calls listed again",
    );
    const restoredMs = Date.now() - t0;
    console.log(`calls listed again ${restoredMs} ms after the restart`);
    expect(restoredMs).toBeLessThan(8000);
    const joined = after.filter((c) => c.meeting_sid !== null);
    expect(joined.map((c) => c.call_sid).sort()).toEqual(before);
    expect(joined.every((c) => c.meeting_sid === meetingSid)).toBe(true);
    expect(after.find((c) => c.call_sid === atPrompt.call_sid)?.meeting_sid).toBeNull();
    await waiting.hangup();
    expect(after.find((c) => c.call_sid === part.callSid)?.muted).toBe(true);
    const m = (await h.acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings")).body.items;
    expect(m.map((x) => x.meeting_sid)).toEqual([meetingSid]);
    expect(m[0]?.participant_muted).toBe("relaxed");
    expect(m[0]?.attendees).toEqual({ hosts: 1, participants: 1, listeners: 0 });

    // A new caller of the room joins the running meeting.
    const late = h.phone(LIST_HZ);
    const c = await h.dialIn(late, room.host);
    expect(c.meeting_sid).toBe(meetingSid);
    await Bun.sleep(3000);
    const [from, to] = [host.at() - 2.5, host.at() - 0.5];
    const [lfrom, lto] = [late.at() - 2.5, late.at() - 0.5];
    await h.finish(meetingSid, [host, part, late]);
    // One mix: the first host hears the new caller, and the new caller hears the host.
    expect(host.level(LIST_HZ, from, to)).toBeGreaterThan(HEARD_DB);
    expect(late.level(HOST_HZ, lfrom, lto)).toBeGreaterThan(HEARD_DB);
  }, 90_000);

  test("frozen: GET /calls answers 503 within 2 s, and 200 again after", async () => {
    expect(await callsOrNull()).not.toBeNull();
    redis.freeze();
    let took = 0;
    let res: { status: number; body: unknown };
    try {
      const t0 = performance.now();
      res = await h.acct.account.req("GET", "/conference/v2/calls");
      took = performance.now() - t0;
    } finally {
      redis.thaw();
    }
    console.log(`GET /calls with Redis frozen: ${res.status} in ${Math.round(took)} ms`);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      message: "service unavailable",
      errors: [{ field: null, message: "the live session store did not answer; try again later", reference_sid: null }],
    });
    expect(took).toBeLessThan(2000);
    await eventually(async () => (await callsOrNull()) !== null, 10_000, "the API answering again");
  }, 30_000);
});
