/**
 * The contract of calls at the access-code prompt (the mixer's lobby), which every
 * SessionStore adapter passes beside `contract.ts`: `store.test.ts` runs it against the
 * in-process adapter, the same over a thread link, and a real Redis server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Role } from "@conf/call-flow";
import type { SessionStore } from "../store.ts";
import type { EnterInput, JoinInput, LiveCall } from "../types.ts";
import { collectEvents, type Harness, waitFor } from "./harness.ts";

const ACCOUNT = "a1f38bf7-5879-49c1-be72-50ffa7f249a6";
const OTHER_ACCOUNT = "0b0b0b0b-0000-4000-8000-000000000001";
const ROOM = "d54061ef-8a16-459c-b055-6c0c297f46af";
const START = Date.parse("2021-09-03T14:11:55.000Z");

function enterInput(callSid: string, extra: Partial<EnterInput> = {}): EnterInput {
  return {
    call_sid: callSid,
    account_sid: ACCOUNT,
    codecs: "PCMU",
    number_src: "<sip:+17605692222@55.66.77.88>",
    number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
    name: "Pat",
    direction: "In",
    nodeId: "node-a",
    ...extra,
  };
}

function joinInput(key: string, role: Role, callSid?: string, nodeId = "node-a"): JoinInput {
  return {
    meetingKey: key,
    accountSid: ACCOUNT,
    meetingRoomSid: ROOM,
    nodeId,
    call: {
      call_sid: callSid,
      access_code: "890671",
      codecs: "PCMU",
      number_src: "<sip:+17605692222@55.66.77.88>",
      number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
      name: "Pat",
      direction: "In",
      role,
    },
  };
}

function manualClock(start = START) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const sids = (calls: readonly LiveCall[]) => calls.map((c) => c.call_sid).sort();

export function lobbyContract(makeHarness: () => Harness): void {
  const h = makeHarness();
  let n = 0;
  const space = () => `lobby${++n}`;
  afterAll(() => h.cleanup());

  describe(`SessionStore lobby contract (${h.label ?? h.name})`, () => {
    test("a call at the prompt reads as a Call with no meeting, listed and paged with the joined ones", async () => {
      const clock = manualClock();
      const s = h.open(space(), { clock: clock.now });
      const placed = START - 2000;
      const entered = await s.enter(enterInput("lobby-1", { date_created: new Date(placed) }));
      const expected = {
        access_code: "",
        account_sid: ACCOUNT,
        call_sid: "lobby-1",
        codecs: "PCMU",
        date_created: "2021-09-03T14:11:53.000Z",
        date_joined: null,
        direction: "In",
        duration: 2,
        gain_level: 0,
        meeting_room_sid: null,
        meeting_sid: null,
        muted: false,
        name: "Pat",
        number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
        number_src: "<sip:+17605692222@55.66.77.88>",
        on_hold: false,
        role: null,
      };
      expect(entered).toEqual(expected as never);
      expect(await s.getCall("lobby-1")).toEqual(expected as never);
      expect(await s.getCallInfo("lobby-1")).toEqual({ call: expected, nodeId: "node-a" } as never);
      // The sid is taken: a second enter, or one of a joined call, writes nothing.
      expect(await s.enter(enterInput("lobby-1", { name: "again" }))).toBeNull();
      const j = await s.join(joinInput("room", "host", "joined-1"));
      if (!j.ok) throw new Error("refused");
      expect(await s.enter(enterInput("joined-1"))).toBeNull();
      expect((await s.getCall("joined-1"))?.meeting_sid).toBe(j.meeting.meeting_sid);
      await s.enter(enterInput("lobby-2"));
      await s.enter(enterInput("theirs", { account_sid: OTHER_ACCOUNT }));
      // Listed with the joined calls; counted in no meeting; another account's unseen.
      expect(sids(await s.listCalls(ACCOUNT))).toEqual(["joined-1", "lobby-1", "lobby-2"]);
      expect(sids(await s.listCalls(OTHER_ACCOUNT))).toEqual(["theirs"]);
      expect((await s.getMeeting(j.meeting.meeting_sid))?.attendees).toEqual({ hosts: 1, listeners: 0, participants: 0 });
      expect(sids(await s.listCallsOfMeeting(j.meeting.meeting_sid))).toEqual(["joined-1"]);
      // Pages: the order of listCalls, the exact total, every call once.
      const whole = (await s.listCalls(ACCOUNT)).map((c) => c.call_sid);
      const paged: string[] = [];
      for (let offset = 0; offset < 4; offset += 2) {
        const page = await s.listCallsPage(ACCOUNT, offset, 2);
        expect(page.total).toBe(3);
        paged.push(...page.items.map((c) => c.call_sid));
      }
      expect(paged).toEqual(whole);
      expect((await s.listCallsPage(ACCOUNT, 3, 10)).items).toEqual([]);
      // A call at the prompt has no meeting to be muted in.
      expect(await s.updateCall("lobby-1", { muted: true })).toBeNull();
      expect((await s.getCall("lobby-1"))?.muted).toBe(false);
      let thrown: unknown = null;
      try {
        await s.enter({ ...enterInput("bad"), direction: "Sideways" as "In" });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RangeError);
    });

    test("joining keeps the call sid: the record at the prompt becomes the joined call in one step", async () => {
      const sp = space();
      const watcher = h.open(sp);
      const s = h.open(sp);
      const events = await collectEvents(watcher);
      const placed = new Date(START);
      const entered = await s.enter(enterInput("c1", { nodeId: "front", date_created: placed }));
      // Another node (the meeting's owner, after a hand-over) joins it.
      const input = joinInput("room", "participant", "c1", "owner");
      const j = await s.join({ ...input, call: { ...input.call, date_created: placed } });
      if (!j.ok) throw new Error("refused");
      expect(j.call).toMatchObject({ call_sid: "c1", role: "participant", meeting_sid: j.meeting.meeting_sid });
      expect(j.call.date_created).toBe(entered?.date_created as string);
      expect(await s.getCallInfo("c1")).toMatchObject({ nodeId: "owner", call: { meeting_sid: j.meeting.meeting_sid } });
      expect(sids(await s.listCalls(ACCOUNT))).toEqual(["c1"]);
      expect((await s.listCallsPage(ACCOUNT, 0, 10)).total).toBe(1);
      // Nothing at the prompt any more: leaving it touches nothing, renewing the front neither.
      expect(await s.leaveLobby("c1")).toBeNull();
      await s.renewLease("front");
      expect((await s.getCall("c1"))?.meeting_sid).toBe(j.meeting.meeting_sid);
      await s.leave("c1");
      await waitFor(() => events.length >= 5);
      await Bun.sleep(20);
      expect(events.map((e) => e.type)).toEqual(["call_entered", "meeting_started", "call_joined", "call_left", "meeting_ended"]);
      const first = events[0];
      expect(first?.type === "call_entered" && first.call).toEqual(entered as never);
    });

    test("a refused join keeps the caller at the prompt; leaving from there leaves no record", async () => {
      const sp = space();
      const watcher = h.open(sp);
      const s = h.open(sp);
      const events = await collectEvents(watcher);
      const host = await s.join(joinInput("locked-room", "host"));
      if (!host.ok) throw new Error("refused");
      await s.updateMeeting(host.meeting.meeting_sid, { locked: true });
      await s.enter(enterInput("late"));
      const refused = await s.join(joinInput("locked-room", "participant", "late"));
      expect(refused.ok).toBe(false);
      expect((await s.getCall("late"))?.meeting_sid).toBeNull();
      const left = await s.leaveLobby("late");
      expect(left).toMatchObject({ call_sid: "late", meeting_sid: null });
      expect(await s.getCall("late")).toBeNull();
      expect(await s.leaveLobby("late")).toBeNull();
      expect(sids(await s.listCalls(ACCOUNT))).toEqual([host.call.call_sid]);
      await waitFor(() => events.some((e) => e.type === "lobby_left"));
      const ev = events.find((e) => e.type === "lobby_left");
      expect(ev?.type === "lobby_left" && ev.reason).toBe("left");
      expect(ev?.type === "lobby_left" && ev.call.call_sid).toBe("late");
      // The public log: call.entered with the Call GET returned, call.left with no meeting.
      await Bun.sleep(20);
      const logged = (await s.eventLog.readAfter(ACCOUNT, null, 100))
        .map((e) => JSON.parse(e.json))
        .filter((e) => e.call_sid === "late");
      expect(logged.map((e) => [e.type, e.meeting_sid])).toEqual([
        ["call.entered", null],
        ["call.left", null],
      ]);
      expect(logged[0].data).toMatchObject({ call_sid: "late", meeting_sid: null, date_joined: null, role: null, name: "Pat" });
    });

    test("a node's callers at the prompt live on its lease: renewed with its meetings, reaped when it dies", async () => {
      const clock = manualClock();
      const sp = space();
      const s = h.open(sp, { clock: clock.now, leaseTtlMs: 1000 });
      const watcher = h.open(sp);
      const events = await collectEvents(watcher);
      await s.enter(enterInput("alive", { nodeId: "node-a" }));
      await s.enter(enterInput("dead", { nodeId: "node-b" }));
      clock.advance(600);
      await s.renewLease("node-a");
      clock.advance(600);
      // node-b stopped renewing: its caller is gone from every read before it is reaped.
      expect(await s.getCall("dead")).toBeNull();
      expect(await s.getCallInfo("dead")).toBeNull();
      expect((await s.getCall("alive"))?.call_sid).toBe("alive");
      expect(sids(await s.listCalls(ACCOUNT))).toEqual(["alive"]);
      expect(await s.listCallsPage(ACCOUNT, 0, 10)).toMatchObject({ total: 1, items: [{ call_sid: "alive" }] });
      // A late renewal does not bring it back.
      await s.renewLease("node-b");
      expect(await s.getCall("dead")).toBeNull();
      await s.reapExpired();
      await waitFor(() => events.some((e) => e.type === "lobby_left"));
      const reaped = events.filter((e) => e.type === "lobby_left");
      expect(reaped.map((e) => e.type === "lobby_left" && [e.call.call_sid, e.reason])).toEqual([["dead", "lease_expired"]]);
      expect(await s.leaveLobby("dead")).toBeNull();
      await s.renewLease("node-a");
      clock.advance(600);
      expect((await s.getCall("alive"))?.call_sid).toBe("alive");
      expect(await s.leaveLobby("alive")).toMatchObject({ call_sid: "alive" });
    });

    test("a join and a leave from the prompt racing over clients leave at most one record", async () => {
      const sp = space();
      const clients = [h.open(sp), h.open(sp), h.open(sp)];
      const [a, b, c] = clients as [SessionStore, SessionStore, SessionStore];
      const count = 12;
      for (let i = 0; i < count; i++) await a.enter(enterInput(`race-${i}`));
      const outcomes = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const [joined, left] = await Promise.all([
            b.join(joinInput("race-room", "participant", `race-${i}`)),
            c.leaveLobby(`race-${i}`),
          ]);
          return { joined: joined.ok, left: left !== null };
        }),
      );
      const calls = await a.listCalls(ACCOUNT);
      for (let i = 0; i < count; i++) {
        const mine = calls.filter((x) => x.call_sid === `race-${i}`);
        // The join always lands (it needs no lobby record); the leave found one only if it came first.
        expect(mine.length).toBe(1);
        expect(mine[0]?.meeting_sid).not.toBeNull();
        expect(outcomes[i]?.joined).toBe(true);
      }
      expect(calls.filter((x) => x.meeting_sid === null)).toEqual([]);
    });
  });
}
