/**
 * End to end: a meeting bigger than one worker holds (cascade). MIXER_WORKERS=2 and
 * MIXER_WORKER_CAPACITY=2: four phones dial the front into one meeting; the first two
 * are handed to the worker that owns the meeting, the next two to the other worker,
 * which joins the same meeting and links its mix to the owner's by a trunk
 * (apps/mixer/src/cascade.ts). Each phone hears the other three, on either worker, and
 * not itself; the API shows one meeting with four calls; muting a call on the second
 * worker through the API silences it for everyone; ending the meeting ends all four.
 */
import { expect, test } from "bun:test";
import { eventually } from "./lib/service.ts";
import { ABSENT_DB, type Call, HEARD_DB, MeetingHarness, type Phone } from "./lib/meeting-harness.ts";

let h: MeetingHarness;
MeetingHarness.perFile({ number: "15162065993", env: { MIXER_WORKERS: "2", MIXER_WORKER_CAPACITY: "2" } }, (x) => {
  h = x;
});

/** Tones none of whose pairs' intermodulation products (2a-b, a±b) lands on another. */
const TONES = [440, 1000, 1700, 2600] as const;

test("four callers of one meeting over two workers of capacity 2: everyone hears the others and not themselves, the API shows one meeting, a muted satellite call is silent", async () => {
  const room = await h.room("cascade", {});
  const phones = TONES.map((hz) => h.phone(hz));
  const calls: Call[] = [];
  for (const [i, p] of phones.entries()) calls.push(await h.dialIn(p, i === 0 ? room.host : room.participant));
  const meetingSid = calls[0]?.meeting_sid as string;

  // Placement: two calls on each worker, the owner's first.
  const workerOf = await eventually(
    async () => {
      const m = new Map<string, string>();
      for (const x of h.svc.output().matchAll(/mixer (\S+-w\d+): call (\S+) taken over from/g))
        m.set(x[2] as string, x[1] as string);
      return calls.every((c) => m.has(c.call_sid)) ? m : null;
    },
    5000,
    "four hand-overs",
  );
  const [owner, , satellite] = calls.map((c) => workerOf.get(c.call_sid) as string);
  expect(workerOf.get(calls[1]?.call_sid as string)).toBe(owner);
  expect(satellite).not.toBe(owner);
  expect(workerOf.get(calls[3]?.call_sid as string)).toBe(satellite);
  await eventually(async () => h.svc.output().includes(`trunk to ${owner}`) || null, 5000, "the satellite's trunk");

  // The API: one meeting, four calls in it.
  const listed = await h.calls();
  expect(listed.length).toBe(4);
  expect(new Set(listed.map((c) => c.meeting_sid))).toEqual(new Set([meetingSid]));
  expect((await h.meeting(meetingSid))?.attendees).toEqual({ hosts: 1, participants: 3, listeners: 0 });
  const meetings = await h.acct.account.req<{ items: { meeting_sid: string }[] }>("GET", "/conference/v2/meetings");
  expect(meetings.body.items.map((m) => m.meeting_sid)).toEqual([meetingSid]);

  await Bun.sleep(3000);
  const before = phones.map((p) => [p.at() - 2.5, p.at() - 0.5] as const);

  // Mute a call mixed on the satellite through the API: nobody hears it any more.
  const muted = phones[2] as Phone;
  const r = await h.acct.account.req("PATCH", `/conference/v2/calls/${muted.callSid}`, { muted: true });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await h.untilMuted(muted, true);
  await Bun.sleep(3000);
  const after = phones.map((p) => [p.at() - 2.5, p.at() - 0.5] as const);

  // Ending the meeting ends it on both workers.
  await h.finish(meetingSid, []);
  for (const p of phones) await p.untilEnded(5000);
  for (const p of phones) await p.stop();

  const levels: Record<string, number> = {};
  for (const [i, p] of phones.entries()) {
    for (const hz of TONES) {
      const [from, to] = before[i] as readonly [number, number];
      levels[`${p.toneHz} hears ${hz}`] = Math.round(p.level(hz, from, to));
      const [from2, to2] = after[i] as readonly [number, number];
      levels[`${p.toneHz} hears ${hz}, ${muted.toneHz} muted`] = Math.round(p.level(hz, from2, to2));
    }
  }
  const report = JSON.stringify(levels);
  console.log(`cascade levels (dBFS): ${report}`);
  for (const p of phones) {
    for (const hz of TONES) {
      const own = hz === p.toneHz;
      const beforeDb = levels[`${p.toneHz} hears ${hz}`] as number;
      const afterDb = levels[`${p.toneHz} hears ${hz}, ${muted.toneHz} muted`] as number;
      if (own) {
        expect(beforeDb, `${p.toneHz} hears itself: ${report}`).toBeLessThan(ABSENT_DB);
        expect(afterDb, `${p.toneHz} hears itself: ${report}`).toBeLessThan(ABSENT_DB);
        continue;
      }
      expect(beforeDb, `${p.toneHz} hears ${hz}: ${report}`).toBeGreaterThan(HEARD_DB);
      if (hz === muted.toneHz) expect(afterDb, `${p.toneHz} hears muted ${hz}: ${report}`).toBeLessThan(ABSENT_DB);
      else expect(afterDb, `${p.toneHz} hears ${hz} after the mute: ${report}`).toBeGreaterThan(HEARD_DB);
    }
  }
}, 90_000);

test("conference_start_how moderator over two workers: callers waiting on the satellite are let in when the host joins on the owner", async () => {
  // The first test's hand-overs are counted off as their 'ended' messages arrive.
  await Bun.sleep(1000);
  const room = await h.room("cascade-moderator", { conference_start_how: "moderator" });
  const parts = [1000, 1700, 2600, 3100].map((hz) => h.phone(hz));
  for (const p of parts) await h.dialIn(p, room.participant);
  const host = h.phone(440);
  const hc = await h.dialIn(host, room.host);
  const workerOf = await eventually(
    async () => {
      const m = new Map<string, string>();
      for (const x of h.svc.output().matchAll(/mixer (\S+-w\d+): call (\S+) taken over from/g))
        m.set(x[2] as string, x[1] as string);
      return [...parts, host].every((p) => m.has(p.callSid)) ? m : null;
    },
    5000,
    "five hand-overs",
  );
  const owner = workerOf.get(parts[0]?.callSid as string) as string;
  const satellite = workerOf.get(parts[3]?.callSid as string) as string;
  expect(satellite).not.toBe(owner);
  // Every worker is full: the host goes to the owner, the satellite hears of it.
  expect(workerOf.get(hc.call_sid)).toBe(owner);
  await Bun.sleep(3000);
  const on = (p: Phone) => [p.at() - 2.5, p.at() - 0.5] as const;
  const w = { sat: on(parts[3] as Phone), own: on(parts[0] as Phone) };
  await h.finish(hc.meeting_sid, [...parts, host]);
  const levels = {
    "satellite hears owner's participant": (parts[3] as Phone).level(1000, ...w.sat),
    "satellite hears host": (parts[3] as Phone).level(440, ...w.sat),
    "owner's participant hears satellite's": (parts[0] as Phone).level(3100, ...w.own),
  };
  console.log(`cascade moderator start levels (dBFS): ${JSON.stringify(levels)}`);
  for (const [k, v] of Object.entries(levels)) expect(v, k).toBeGreaterThan(HEARD_DB);
}, 90_000);
