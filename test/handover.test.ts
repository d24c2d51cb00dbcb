/**
 * End to end: a mixer front with two worker processes (MIXER_WORKERS=2). The front
 * answers every call and runs its IVR, then hands the admitted caller over to the
 * worker that mixes its meeting, by a re-INVITE to baresip with the worker's Contact
 * and RTP port. Two meetings land on two different workers; callers of one meeting
 * hear each other and nobody of the other; hang-ups and API control reach the worker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { MixerNode } from "./lib/mixer-node.ts";
import { eventually } from "./lib/service.ts";
import { HEARD_DB, ABSENT_DB, HOST_HZ, LIST_HZ, MeetingHarness, PART_HZ, type Phone } from "./lib/meeting-harness.ts";

let h: MeetingHarness;

beforeAll(async () => {
  h = await MeetingHarness.start({ number: "15162065990", env: { MIXER_WORKERS: "2" } });
}, 60_000);
afterEach(async () => h.clear());
afterAll(async () => h.stop());

/** Node ids that took calls over, from the service's output. */
function takenOverBy(): string[] {
  return [...h.svc.output().matchAll(/mixer (\S+-w\d+): call \S+ taken over from/g)].map((m) => m[1] as string);
}

describe("meetings mixed by worker processes", () => {
  test("two meetings on two workers: each hears its own, calls end on the worker", async () => {
    const roomA = await h.room("handover-a", {});
    const roomB = await h.room("handover-b", {});
    const a1 = h.phone(HOST_HZ);
    const a2 = h.phone(PART_HZ);
    const b1 = h.phone(LIST_HZ);
    const ca1 = await h.dialIn(a1, roomA.host);
    const ca2 = await h.dialIn(a2, roomA.participant);
    const cb1 = await h.dialIn(b1, roomB.host);
    expect(ca1.meeting_sid).toBe(ca2.meeting_sid);
    expect(cb1.meeting_sid).not.toBe(ca1.meeting_sid);

    // Every call was moved to a worker; the two meetings went to different ones.
    await eventually(async () => takenOverBy().length === 3, 5000, "three hand-overs");
    const workers = takenOverBy();
    expect(workers[0]).toBe(workers[1] as string);
    expect(workers[2]).not.toBe(workers[0] as string);
    expect(h.svc.output()).not.toContain("mixing here");
    // The front's records of them at the prompt became the workers' joined calls (same sids).
    const listed = await h.calls();
    expect(listed.map((c) => c.call_sid).sort()).toEqual([ca1.call_sid, ca2.call_sid, cb1.call_sid].sort());
    expect(listed.filter((c) => c.meeting_sid === null)).toEqual([]);

    await Bun.sleep(3000);
    const window = (p: Phone) => [p.at() - 2.5, p.at() - 0.5] as const;
    const [from1, to1] = window(a1);
    const [from2, to2] = window(a2);
    const [fromB, toB] = window(b1);

    // The phones hang up by BYE to their new Contact (the worker); the API sees it.
    await a2.hangup();
    await eventually(async () => !(await h.calls()).some((c) => c.call_sid === ca2.call_sid), 5000, "a2's call gone");
    expect((await h.meeting(ca1.meeting_sid))?.attendees).toEqual({ hosts: 1, participants: 0, listeners: 0 });

    // DELETE of a meeting reaches its worker, which hangs its callers up.
    await h.finish(ca1.meeting_sid, [a1, a2]);
    await h.finish(cb1.meeting_sid, [b1]);

    expect(a1.level(PART_HZ, from1, to1)).toBeGreaterThan(HEARD_DB);
    expect(a1.level(LIST_HZ, from1, to1)).toBeLessThan(ABSENT_DB);
    expect(a2.level(HOST_HZ, from2, to2)).toBeGreaterThan(HEARD_DB);
    expect(a2.level(LIST_HZ, from2, to2)).toBeLessThan(ABSENT_DB);
    expect(b1.level(HOST_HZ, fromB, toB)).toBeLessThan(ABSENT_DB);
    expect(b1.level(PART_HZ, fromB, toB)).toBeLessThan(ABSENT_DB);
  }, 60_000);

  test("a worker's keypad works after the move (RFC 4733 to the worker's port)", async () => {
    const room = await h.room("handover-keys", {});
    const { host, part } = await h.hostAndParticipant(room);
    await h.untilMuted(part, false);
    part.keys("*6"); // self mute, detected by the worker that now receives the RTP
    await h.untilMuted(part, true);
    const call = await h.callOf(part);
    await h.finish(call?.meeting_sid ?? part.meetingSid, [host, part]);
  }, 60_000);

  test("a caller admitted on another mixer node is handed over to the worker that mixes its meeting", async () => {
    // A second mixer node of the same service (`bun run start:mixer`), as behind a SIP
    // dispatcher: its caller's meeting already runs on a worker of the first node.
    const { node, sipPort: port } = await MixerNode.start(h.svc, {
      nodeId: "second-node",
      host: "127.0.0.1",
      rtpPortMin: 33000,
      rtpPortMax: 33199,
    });
    try {
      const room = await h.room("handover-nodes", {});
      const a = h.phone(HOST_HZ);
      const b = h.phone(PART_HZ);
      const ca = await h.dialIn(a, room.host);
      const cb = await h.dialIn(b, room.participant, port);
      expect(cb.meeting_sid).toBe(ca.meeting_sid);
      await eventually(async () => /handed over to \S+-w\d/.test(node.output()), 5000, "the hand-over from the second node");
      expect(node.output()).not.toContain("mixing here");
      await Bun.sleep(3000);
      const [from, to] = [a.at() - 2.5, a.at() - 0.5];
      await h.finish(ca.meeting_sid, [a, b]);
      expect(a.level(PART_HZ, from, to)).toBeGreaterThan(HEARD_DB);
    } finally {
      await node.stop();
    }
  }, 60_000);
});
