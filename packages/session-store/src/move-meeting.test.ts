/**
 * moveMeeting (failover): a meeting whose node died moves to another node with its sid,
 * state and calls; of two nodes moving it, the first wins. Run against every adapter.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type Harness, linkHarness, memoryHarness, redisHarness } from "./testing/harness.ts";

const ACCOUNT = "a1f38bf7-5879-49c1-be72-50ffa7f249a6";

function moveMeetingContract(makeHarness: () => Harness): void {
  const h = makeHarness();
  let n = 0;
  afterAll(() => h.cleanup());

  describe(`moveMeeting (${h.label ?? h.name})`, () => {
    test("the owner changes once, the meeting keeps its sid, state, calls and key; the new node renews it", async () => {
      let t = Date.parse("2021-09-03T14:11:55.000Z");
      const s = h.open(`mv${++n}`, { clock: () => t, leaseTtlMs: 1000 });
      const call = (role: "host" | "participant", sid: string) => ({
        access_code: "1",
        codecs: "PCMU",
        number_src: "a",
        number_dst: "b",
        name: "",
        direction: "In" as const,
        role,
        call_sid: sid,
      });
      const base = { meetingKey: "k", accountSid: ACCOUNT, meetingRoomSid: null, nodeId: "dead" };
      const a = await s.join({ ...base, call: call("host", "c1") });
      const b = await s.join({ ...base, call: call("participant", "c2") });
      if (!a.ok || !b.ok) throw new Error("join refused");
      const sid = a.meeting.meeting_sid;
      await s.updateMeeting(sid, { locked: true, participant_muted: "relaxed" });
      await s.updateCall("c2", { muted: true });
      t += 900;

      // Another node's move loses: the owner is not the node it names.
      const wrong = await s.moveMeeting(sid, "someone-else", "n2");
      expect(wrong?.nodeId).toBe("dead");
      const moved = await s.moveMeeting(sid, "dead", "n1");
      expect(moved?.nodeId).toBe("n1");
      expect(moved?.leaseExpiresAt).toBe(t + 1000);
      expect(moved?.meeting.meeting_sid).toBe(sid);
      expect(moved?.meeting.locked).toBe(true);
      expect(moved?.meeting.participant_muted).toBe("relaxed");
      expect(moved?.meeting.attendees).toEqual({ hosts: 1, participants: 1, listeners: 0 });
      // A second front moving it from the dead node finds the first one's choice.
      expect((await s.moveMeeting(sid, "dead", "n2"))?.nodeId).toBe("n1");

      // Past the dead node's lease: alive, and the new owner's renewal covers it.
      t += 500;
      expect((await s.getMeeting(sid))?.meeting_sid).toBe(sid);
      expect((await s.getCall("c2"))?.muted).toBe(true);
      expect((await s.getMeetingByKey("k"))?.meeting_sid).toBe(sid);
      expect(await s.renewLease("dead")).toEqual({ renewed: 0, lost: [] });
      expect(await s.renewLease("n1")).toEqual({ renewed: 1, lost: [] });
      // New callers of the key join it there (a host: it is locked).
      const c = await s.join({ ...base, nodeId: "n1", call: call("host", "c3") });
      expect(c.ok && c.meeting.meeting_sid).toBe(sid);
      expect(c.ok && c.ownerNodeId).toBe("n1");
      expect(await s.moveMeeting("no-such-meeting", "dead", "n1")).toBeNull();
    });

    test("a meeting whose lease ran out but is not reaped yet is taken over, not lost", async () => {
      let t = Date.parse("2021-09-03T14:11:55.000Z");
      const s = h.open(`mv${++n}`, { clock: () => t, leaseTtlMs: 1000 });
      const r = await s.join({
        meetingKey: "k",
        accountSid: ACCOUNT,
        meetingRoomSid: null,
        nodeId: "dead",
        call: { access_code: "1", codecs: "PCMU", number_src: "a", number_dst: "b", name: "", direction: "In", role: "host" },
      });
      if (!r.ok) throw new Error("join refused");
      t += 1500;
      expect(await s.getMeeting(r.meeting.meeting_sid)).toBeNull();
      const moved = await s.moveMeeting(r.meeting.meeting_sid, "dead", "n1");
      expect(moved?.nodeId).toBe("n1");
      expect((await s.getMeeting(r.meeting.meeting_sid))?.attendees.hosts).toBe(1);
      expect(await s.reapExpired()).toEqual([]);
    });
  });
}

moveMeetingContract(memoryHarness);
moveMeetingContract(linkHarness);
moveMeetingContract(redisHarness);
