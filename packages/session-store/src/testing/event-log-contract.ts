/**
 * The contract of the public event log, run by `event-log.test.ts` against the
 * in-process log, the same over a thread link, and Redis Streams: what the store's
 * operations append (once each), reading after an id, notifications, retention, and the
 * dispatcher's feed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { PublicEvent } from "../event-log.ts";
import type { SessionStore } from "../store.ts";
import type { CallInput } from "../types.ts";
import { type Harness, waitFor } from "./harness.ts";

const ACCOUNT = "a1f38bf7-5879-49c1-be72-50ffa7f249a6";
const OTHER = "0b0b0b0b-0000-4000-8000-000000000001";

const callInput = (extra: Partial<CallInput> = {}): CallInput => ({
  access_code: "890671",
  codecs: "PCMU",
  number_src: "<sip:100@127.0.0.1>",
  number_dst: "<sip:200@127.0.0.1>",
  name: "",
  direction: "In",
  role: "participant",
  ...extra,
});

const event = (n: number, account = ACCOUNT): PublicEvent => ({
  type: "call.updated",
  date_created: new Date().toISOString(),
  account_sid: account,
  meeting_sid: "m-1",
  call_sid: `c-${n}`,
  data: { n },
});

/** Reads every event of the account after `after`, in pages of 3 (so paging is exercised). */
async function readAll(store: SessionStore, account: string, after: string | null = null) {
  const out: { id: string; body: Record<string, unknown> }[] = [];
  for (let cursor = after; ; ) {
    const page = await store.eventLog.readAfter(account, cursor, 3);
    for (const e of page) out.push({ id: e.id, body: JSON.parse(e.json) });
    if (page.length < 3) return out;
    cursor = (page.at(-1) as { id: string }).id;
  }
}

function idOrder(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}

export function eventLogContract(makeHarness: () => Harness): void {
  const h = makeHarness();
  const label = h.label ?? h.name;
  const overLink = label.includes("link");
  let spaces = 0;
  const space = () => `evlog${++spaces}`;
  afterAll(() => h.cleanup());

  describe(`event log contract (${label})`, () => {
    test("appends in id order; readAfter resumes after an id; accounts are apart", async () => {
      const s = h.open(space());
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await s.eventLog.append(event(i)));
      await s.eventLog.append(event(99, OTHER));
      expect([...ids].sort(idOrder)).toEqual(ids);
      expect(new Set(ids).size).toBe(8);
      const all = await readAll(s, ACCOUNT);
      expect(all.map((e) => e.id)).toEqual(ids);
      expect(all[0]?.body).toMatchObject({
        event_id: ids[0],
        type: "call.updated",
        account_sid: ACCOUNT,
        call_sid: "c-0",
        data: { n: 0 },
      });
      expect((await readAll(s, ACCOUNT, ids[4] as string)).map((e) => e.body.call_sid)).toEqual(["c-5", "c-6", "c-7"]);
      expect(await s.eventLog.readAfter(ACCOUNT, ids[7] as string, 10)).toEqual([]);
      expect((await readAll(s, OTHER)).map((e) => e.body.call_sid)).toEqual(["c-99"]);
      expect(await s.eventLog.readAfter("nobody", null, 10)).toEqual([]);
    });

    test("each store operation is logged once, in the public shape, by the client that did it", async () => {
      const sp = space();
      const a = h.open(sp);
      const b = h.open(sp); // another process on the same state: must add nothing
      void b;
      const j = await a.join({ meetingKey: "k1", accountSid: ACCOUNT, meetingRoomSid: null, nodeId: "n1", call: callInput() });
      if (!j.ok) throw new Error("refused");
      await a.updateCall(j.call.call_sid, { muted: true });
      await a.updateMeeting(j.meeting.meeting_sid, { locked: true });
      await a.leave(j.call.call_sid);
      let got: { body: Record<string, unknown> }[] = [];
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        got = await readAll(a, ACCOUNT);
        if (got.length >= 6) break;
        await Bun.sleep(10);
      }
      await Bun.sleep(50);
      got = await readAll(a, ACCOUNT);
      expect(got.map((e) => e.body.type)).toEqual([
        "meeting.started",
        "call.joined",
        "call.updated",
        "meeting.updated",
        "call.left",
        "meeting.ended",
      ]);
      const [started, joined, updated, mUpdated, left, ended] = got.map((e) => e.body) as Record<string, any>[];
      expect(started).toMatchObject({ account_sid: ACCOUNT, meeting_sid: j.meeting.meeting_sid, call_sid: null });
      expect(started?.data.meeting_sid).toBe(j.meeting.meeting_sid);
      expect(joined).toMatchObject({
        call_sid: j.call.call_sid,
        meeting_sid: j.meeting.meeting_sid,
        data: { call_sid: j.call.call_sid, role: "participant" },
      });
      expect(updated).toMatchObject({ changes: { muted: true }, data: { muted: true } });
      expect(mUpdated).toMatchObject({ call_sid: null, changes: { locked: true } });
      expect(left?.call_sid).toBe(j.call.call_sid);
      expect(ended).toMatchObject({ reason: "last_left", call_sid: null });
      for (const e of got) expect(e.body.date_created).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    test("recordEvent: talker events carry the call as read; call.entered is the store's own (enter)", async () => {
      const s = h.open(space());
      const j = await s.join({ meetingKey: "k2", accountSid: ACCOUNT, meetingRoomSid: null, nodeId: "n1", call: callInput() });
      if (!j.ok) throw new Error("refused");
      const talk = await s.recordEvent({ type: "talker.started", account_sid: ACCOUNT, call_sid: j.call.call_sid });
      expect(talk).not.toBeNull();
      expect(await s.recordEvent({ type: "talker.stopped", account_sid: OTHER, call_sid: j.call.call_sid })).toBeNull();
      expect(await s.recordEvent({ type: "talker.stopped", account_sid: ACCOUNT, call_sid: "gone" })).toBeNull();
      for (const type of ["call.joined", "call.entered"]) {
        let thrown: unknown = null;
        try {
          await s.recordEvent({ type: type as "talker.started", account_sid: ACCOUNT, call_sid: "x" });
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(RangeError);
      }
      await Bun.sleep(50);
      const mine = (await readAll(s, ACCOUNT))
        .map((e) => e.body)
        .filter((e) => e.type === "call.entered" || e.type === "talker.started");
      expect(mine).toEqual([
        expect.objectContaining({
          type: "talker.started",
          meeting_sid: j.meeting.meeting_sid,
          call_sid: j.call.call_sid,
          data: expect.objectContaining({ call_sid: j.call.call_sid }),
        }),
      ]);
    });

    test("watch tells readers of the account, and only of it", async () => {
      const s = h.open(space());
      let mine = 0;
      let theirs = 0;
      const stop = await s.eventLog.watch(ACCOUNT, () => mine++);
      const stop2 = await s.eventLog.watch(OTHER, () => theirs++);
      await s.eventLog.append(event(1));
      await s.eventLog.append(event(2));
      await waitFor(() => mine >= 1);
      expect(theirs).toBe(0);
      await stop();
      await stop2();
      const before = mine;
      await s.eventLog.append(event(3));
      await Bun.sleep(50);
      expect(mine).toBe(before);
    });

    test.skipIf(overLink)(
      "keeps the newest maxEvents (approximately on Redis) and drops what is older than the retention",
      async () => {
        const sp = space();
        const s = h.open(sp, { eventLog: { maxEvents: 5, retentionMs: 60_000 } });
        for (let i = 0; i < 300; i++) await s.eventLog.append(event(i));
        const kept = await s.eventLog.readAfter(ACCOUNT, null, 1000);
        expect(kept.length).toBeGreaterThanOrEqual(5);
        expect(kept.length).toBeLessThan(300);
        expect(JSON.parse((kept.at(-1) as { json: string }).json).call_sid).toBe("c-299");
        const short = h.open(space(), { eventLog: { retentionMs: 50 } });
        for (let i = 0; i < 150; i++) await short.eventLog.append(event(i));
        await Bun.sleep(120);
        await short.eventLog.append(event(1000));
        const left = await short.eventLog.readAfter(ACCOUNT, null, 1000);
        expect(left.length).toBeLessThan(151);
        expect(JSON.parse((left.at(-1) as { json: string }).json).call_sid).toBe("c-1000");
      },
    );

    test.skipIf(overLink)(
      "dispatch: each entry to one consumer; unacked entries are taken again after the reclaim time",
      async () => {
        const s = h.open(space());
        const feed = s.eventLog.dispatch;
        expect(await feed.take("d1", 10, 60_000)).toEqual([]); // the first take starts the feed
        for (let i = 0; i < 6; i++) await s.eventLog.append(event(i, i % 2 ? OTHER : ACCOUNT));
        const a = await feed.take("d1", 4, 60_000);
        const b = await feed.take("d2", 4, 60_000);
        expect(a.length).toBe(4);
        expect(b.length).toBe(2);
        const seen = [...a, ...b].map((e) => JSON.parse(e.json).call_sid);
        expect(seen.sort()).toEqual(["c-0", "c-1", "c-2", "c-3", "c-4", "c-5"]);
        expect(a[1]?.accountSid).toBe(OTHER);
        await feed.ack(a.map((e) => e.dispatchId));
        expect(await feed.take("d3", 10, 60_000)).toEqual([]);
        await Bun.sleep(30);
        // d2 went away without acking: after 20 ms idle, d3 gets its entries.
        const again = await feed.take("d3", 10, 20);
        expect(again.map((e) => e.dispatchId).sort()).toEqual(b.map((e) => e.dispatchId).sort());
        await feed.ack(again.map((e) => e.dispatchId));
        await Bun.sleep(30);
        expect(await feed.take("d3", 10, 20)).toEqual([]);
      },
    );
  });
}
