/**
 * Redis going away under running meetings, on a redis-server of this test's own: killed
 * and restarted empty (the mixers write back what they mix, and a caller arriving
 * meanwhile joins the running meeting, never a new one), and frozen (commands fail
 * within the timeout instead of hanging).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { StoreUnavailableError } from "./errors.ts";
import { createSessionStore, type SessionStore } from "./store.ts";
import { OwnRedis } from "./testing/redis-server.ts";
import type { CallInput, RestoreMeeting } from "./types.ts";

let redis: OwnRedis;
const opened: SessionStore[] = [];
const prefix = `restart:${crypto.randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  redis = await OwnRedis.start();
});
afterAll(async () => {
  for (const s of opened) await s.close();
  await redis.stop();
});

function open(): SessionStore {
  const s = createSessionStore({ redisUrl: redis.url, prefix, onError: () => {}, restoreGraceMs: 3000 });
  opened.push(s);
  return s;
}

const caller = (role: CallInput["role"], n: number): CallInput => ({
  access_code: "1234",
  codecs: "PCMU",
  number_src: `<sip:${n}@127.0.0.1>`,
  number_dst: "<sip:15162065515@127.0.0.1>",
  name: `caller ${n}`,
  direction: "In",
  role,
});

async function eventually<T>(fn: () => Promise<T | null | undefined | false>, ms: number): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (performance.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(50);
  }
}

test("after Redis restarts empty, the owner's restore brings the meeting back and a new caller joins it", async () => {
  const owner = open();
  const other = open();
  const api = open();
  const key = "acct-1:room:r1";
  const join = (s: SessionStore, node: string, role: CallInput["role"], n: number) =>
    s.join({ meetingKey: key, accountSid: "acct-1", meetingRoomSid: "r1", nodeId: node, call: caller(role, n) });
  const a = await join(owner, "n1", "host", 1);
  const b = await join(owner, "n1", "participant", 2);
  if (!a.ok || !b.ok) throw new Error("refused");
  await api.updateCall(b.call.call_sid, { muted: true });
  await api.updateMeeting(a.meeting.meeting_sid, { locked: true, on_hold: "l", participant_muted: "relaxed" });
  const meeting = await api.getMeeting(a.meeting.meeting_sid);
  const calls = (await api.listCallsOfMeeting(a.meeting.meeting_sid)).sort((x, y) => x.call_sid.localeCompare(y.call_sid));
  expect(calls.length).toBe(2);
  // What node n1 knows from mixing: the mixer's view of its meeting and calls.
  const known: RestoreMeeting = {
    meetingKey: key,
    meeting_sid: a.meeting.meeting_sid,
    account_sid: "acct-1",
    meeting_room_sid: "r1",
    date_created: a.meeting.date_created,
    locked: true,
    on_hold: "l",
    participant_muted: "relaxed",
    recording: false,
    calls: calls.map((c) => ({ ...c, date_joined: c.date_joined })),
  };
  // The owner is slow to restore (1 s after it sees the loss): the new caller comes first.
  let resets = 0;
  owner.onReset(() => {
    resets++;
    setTimeout(() => void owner.restore("n1", [known]).catch(() => {}), 1000);
  });

  await redis.restart();
  const t0 = performance.now();
  // A host (locked meetings refuse others) reaching another node right after the restart.
  const late = await eventually(() => join(other, "n2", "host", 3), 5000);
  if (!late.ok) throw new Error("refused");
  expect(late.meeting.meeting_sid).toBe(a.meeting.meeting_sid);
  expect(late.created).toBe(false);
  expect(late.ownerNodeId).toBe("n1");
  expect(resets).toBe(1);

  const back = await eventually(async () => {
    const l = await api.listCalls("acct-1");
    return l.length === 3 ? l : null;
  }, 5000);
  expect(performance.now() - t0).toBeLessThan(5000);
  const restored = back.filter((c) => c.call_sid !== late.call.call_sid).sort((x, y) => x.call_sid.localeCompare(y.call_sid));
  expect(restored.map((c) => [c.call_sid, c.meeting_sid, c.role, c.muted, c.date_created, c.date_joined])).toEqual(
    calls.map((c) => [c.call_sid, c.meeting_sid, c.role, c.muted, c.date_created, c.date_joined]),
  );
  const m = await api.getMeeting(a.meeting.meeting_sid);
  expect(m).toMatchObject({
    meeting_sid: meeting?.meeting_sid,
    date_created: meeting?.date_created,
    locked: true,
    on_hold: "l",
    participant_muted: "relaxed",
    attendees: { hosts: 2, participants: 1, listeners: 0 },
  });
  expect((await api.listMeetings("acct-1")).length).toBe(1);
  // The lease is the owner's again.
  expect((await owner.renewLease("n1")).renewed).toBe(1);
  // A second restore (another detection) changes nothing.
  expect(await owner.restore("n1", [known])).toEqual([
    { meetingSid: a.meeting.meeting_sid, status: "merged", added: 0, tookKey: false },
  ]);
}, 20_000);

test("a meeting created for the key before the owner restored gives the key to the older, restored one", async () => {
  const s = open();
  const key = "acct-2:room:r2";
  const first = await s.join({
    meetingKey: key,
    accountSid: "acct-2",
    meetingRoomSid: "r2",
    nodeId: "n1",
    call: caller("host", 1),
  });
  if (!first.ok) throw new Error("refused");
  const [c] = await s.listCallsOfMeeting(first.meeting.meeting_sid);
  await redis.restart();
  // A client that never knew the old epoch sees no settling window and creates a meeting.
  const fresh = createSessionStore({ redisUrl: redis.url, prefix, onError: () => {} });
  opened.push(fresh);
  const split = await eventually(
    () => fresh.join({ meetingKey: key, accountSid: "acct-2", meetingRoomSid: "r2", nodeId: "n2", call: caller("host", 2) }),
    5000,
  );
  if (!split.ok) throw new Error("refused");
  expect(split.created).toBe(true);
  const [r] = await s.restore("n1", [{ meetingKey: key, ...first.meeting, calls: [{ ...(c as NonNullable<typeof c>) }] }]);
  expect(r).toMatchObject({ status: "created", tookKey: true });
  expect((await s.getMeetingByKey(key))?.meeting_sid).toBe(first.meeting.meeting_sid);
  const next = await s.join({
    meetingKey: key,
    accountSid: "acct-2",
    meetingRoomSid: "r2",
    nodeId: "n2",
    call: caller("host", 3),
  });
  expect(next.ok && next.meeting.meeting_sid).toBe(first.meeting.meeting_sid);
}, 20_000);

test("a frozen Redis: operations fail with StoreUnavailableError within the timeout, and work again after", async () => {
  const s = createSessionStore({ redisUrl: redis.url, prefix, onError: () => {}, timeouts: { commandTimeoutMs: 500 } });
  opened.push(s);
  await s.listCalls("acct-3");
  redis.freeze();
  try {
    const t0 = performance.now();
    const err = await s.listCalls("acct-3").then(
      () => null,
      (e: unknown) => e,
    );
    const took = performance.now() - t0;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(took).toBeLessThan(2000);
    const perr = await s.control.send("n1", { type: "meeting_end", meetingSid: "x" }).catch((e: unknown) => e);
    expect(perr).toBeInstanceOf(StoreUnavailableError);
  } finally {
    redis.thaw();
  }
  await eventually(async () => (await s.listCalls("acct-3")).length === 0, 5000);
}, 20_000);

test("a subscribe while Redis is down fails in bounded time, and a later one to the channel works", async () => {
  const { createBus } = await import("./bus.ts");
  const bus = createBus({ redisUrl: redis.url, prefix, onError: () => {}, timeouts: { commandTimeoutMs: 500 } });
  try {
    await bus.publish("warm", 1);
    await redis.kill();
    const t0 = performance.now();
    const err = await bus.subscribe("ch", () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - t0).toBeLessThan(2000);
    await redis.restart();
    const got: unknown[] = [];
    await eventually(() => bus.subscribe("ch", (m) => void got.push(m)).then(() => true), 5000);
    await eventually(async () => {
      await bus.publish("ch", "hello");
      return got.length > 0;
    }, 5000);
    expect(got[0]).toBe("hello");
  } finally {
    await bus.close();
  }
}, 20_000);
