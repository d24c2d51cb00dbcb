/**
 * The one contract every SessionStore adapter passes. `store.test.ts` runs it against
 * the in-process adapter and a real Redis server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Role } from "@conf/call-flow";
import type { SessionStore } from "../store.ts";
import { CALL_FIELDS, type CallInput, type ControlMessage, type JoinInput, MEETING_FIELDS } from "../types.ts";
import { collectEvents, type Harness, waitFor } from "./harness.ts";

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ACCOUNT = "a1f38bf7-5879-49c1-be72-50ffa7f249a6";
const OTHER_ACCOUNT = "0b0b0b0b-0000-4000-8000-000000000001";
const ROOM = "d54061ef-8a16-459c-b055-6c0c297f46af";

function callInput(role: Role, extra: Partial<CallInput> = {}): CallInput {
  return {
    access_code: "890671",
    codecs: "PCMU",
    number_src: "<sip:+17605692222@55.66.77.88",
    number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
    name: "",
    direction: "In",
    role,
    ...extra,
  };
}

function joinInput(key: string, role: Role, extra: Partial<JoinInput> = {}, call: Partial<CallInput> = {}): JoinInput {
  return {
    meetingKey: key,
    accountSid: ACCOUNT,
    meetingRoomSid: ROOM,
    nodeId: "node-a",
    call: callInput(role, call),
    ...extra,
  };
}

async function joined(store: SessionStore, input: JoinInput) {
  const r = await store.join(input);
  if (!r.ok) throw new Error(`join refused: ${r.reason}`);
  return r;
}

/**
 * What `promise` rejected with. Not `expect(promise).rejects`: Bun's waits for the
 * promise without delivering messages from Worker threads, so over a thread link it
 * would never see the answer.
 */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse("2021-09-03T14:11:55.000Z")) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

export function sessionStoreContract(makeHarness: () => Harness): void {
  const h = makeHarness();
  let n = 0;
  const space = () => `s${++n}`;
  afterAll(() => h.cleanup());

  describe(`SessionStore contract (${h.label ?? h.name})`, () => {
    test("join creates one meeting per key and returns objects in the reference's exact shape", async () => {
      const clock = manualClock();
      const s = h.open(space(), { clock: clock.now });
      expect(s.kind).toBe(h.name);
      const placed = clock.now() - 3000;
      const r = await joined(s, joinInput("k1", "host", {}, { date_created: new Date(placed), call_sid: "call-1" }));
      expect(r.created).toBe(true);
      expect(r.ownerNodeId).toBe("node-a");
      expect(Object.keys(r.meeting).sort()).toEqual([...MEETING_FIELDS]);
      expect(Object.keys(r.call).sort()).toEqual([...CALL_FIELDS]);
      expect(r.meeting).toEqual({
        account_sid: ACCOUNT,
        attendees: { hosts: 1, listeners: 0, participants: 0 },
        date_created: "2021-09-03T14:11:55.000Z",
        duration: 0,
        locked: false,
        meeting_room_sid: ROOM,
        meeting_sid: r.meeting.meeting_sid,
        on_hold: "",
        participant_muted: "false",
        recording: false,
      });
      expect(r.call).toEqual({
        access_code: "890671",
        account_sid: ACCOUNT,
        call_sid: "call-1",
        codecs: "PCMU",
        date_created: "2021-09-03T14:11:52.000Z",
        date_joined: "2021-09-03T14:11:55.000Z",
        direction: "In",
        duration: 3,
        gain_level: 0,
        meeting_room_sid: ROOM,
        meeting_sid: r.meeting.meeting_sid,
        muted: false,
        name: "",
        number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
        number_src: "<sip:+17605692222@55.66.77.88",
        on_hold: false,
        role: "host",
      });
      expect(r.meeting.meeting_sid).toMatch(/^[0-9a-f-]{36}$/);

      const r2 = await joined(s, joinInput("k1", "participant", { nodeId: "node-b" }));
      expect(r2.created).toBe(false);
      expect(r2.ownerNodeId).toBe("node-a");
      expect(r2.meeting.meeting_sid).toBe(r.meeting.meeting_sid);
      expect(r2.call.call_sid).toMatch(/^[0-9a-f-]{36}$/);
      expect(r2.meeting.attendees).toEqual({ hosts: 1, listeners: 0, participants: 1 });
      expect((await s.getCallInfo(r2.call.call_sid))?.nodeId).toBe("node-b");

      const other = await joined(s, joinInput("k2", "listener", { meetingRoomSid: null }));
      expect(other.created).toBe(true);
      expect(other.meeting.meeting_sid).not.toBe(r.meeting.meeting_sid);
      expect(other.meeting.meeting_room_sid).toBeNull();
      expect(other.call.meeting_room_sid).toBeNull();
    });

    test("reads: by sid, by key, per account, per meeting; durations are live", async () => {
      const clock = manualClock();
      const s = h.open(space(), { clock: clock.now, leaseTtlMs: 3_600_000 });
      const a = await joined(s, joinInput("ka", "host"));
      const b = await joined(s, joinInput("ka", "listener"));
      const c = await joined(s, joinInput("kc", "participant"));
      const x = await joined(s, joinInput("kx", "host", { accountSid: OTHER_ACCOUNT }));
      clock.advance(35_400);

      const m = await s.getMeeting(a.meeting.meeting_sid);
      expect(m?.duration).toBe(35);
      expect(m?.attendees).toEqual({ hosts: 1, listeners: 1, participants: 0 });
      expect(m?.date_created).toMatch(ISO_MS);
      expect(await s.getMeetingByKey("ka")).toEqual(m);
      const info = await s.getMeetingInfo(a.meeting.meeting_sid);
      expect(info).toEqual({
        meeting: m as NonNullable<typeof m>,
        meetingKey: "ka",
        nodeId: "node-a",
        leaseExpiresAt: Date.parse("2021-09-03T14:11:55.000Z") + 3_600_000,
      });

      const call = await s.getCall(b.call.call_sid);
      expect(call?.duration).toBe(35);
      expect(call?.role).toBe("listener");
      expect(call?.date_joined).toMatch(ISO_MS);

      const calls = await s.listCalls(ACCOUNT);
      expect(calls.map((x) => x.call_sid).sort()).toEqual([a.call.call_sid, b.call.call_sid, c.call.call_sid].sort());
      const meetings = await s.listMeetings(ACCOUNT);
      expect(meetings.map((x) => x.meeting_sid).sort()).toEqual([a.meeting.meeting_sid, c.meeting.meeting_sid].sort());
      expect((await s.listCalls(OTHER_ACCOUNT)).map((x) => x.call_sid)).toEqual([x.call.call_sid]);
      expect((await s.listMeetings(OTHER_ACCOUNT)).map((x) => x.meeting_sid)).toEqual([x.meeting.meeting_sid]);
      const ofA = await s.listCallsOfMeeting(a.meeting.meeting_sid);
      expect(ofA.map((x) => x.call_sid).sort()).toEqual([a.call.call_sid, b.call.call_sid].sort());

      expect(await s.getCall("nope")).toBeNull();
      expect(await s.getCallInfo("nope")).toBeNull();
      expect(await s.getMeeting("nope")).toBeNull();
      expect(await s.getMeetingInfo("nope")).toBeNull();
      expect(await s.getMeetingByKey("nope")).toBeNull();
      expect(await s.listCalls("nobody")).toEqual([]);
      expect(await s.listMeetings("nobody")).toEqual([]);
      expect(await s.listCallsOfMeeting("nope")).toEqual([]);
    });

    test("a second store client on the same backing state sees the same meetings", async () => {
      const sp = space();
      const s1 = h.open(sp);
      const s2 = h.open(sp);
      const r = await joined(s1, joinInput("shared", "host"));
      const r2 = await joined(s2, joinInput("shared", "participant"));
      expect(r2.created).toBe(false);
      expect(r2.meeting.meeting_sid).toBe(r.meeting.meeting_sid);
      expect((await s1.getMeeting(r.meeting.meeting_sid))?.attendees.participants).toBe(1);
      const other = h.open(space());
      expect(await other.getMeeting(r.meeting.meeting_sid)).toBeNull();
    });

    test("leave recounts per role; the last leave deletes the meeting and everything with it", async () => {
      const s = h.open(space());
      const host = await joined(s, joinInput("kl", "host"));
      const p1 = await joined(s, joinInput("kl", "participant"));
      const p2 = await joined(s, joinInput("kl", "participant"));
      const l1 = await joined(s, joinInput("kl", "listener"));
      const sid = host.meeting.meeting_sid;
      expect(l1.meeting.attendees).toEqual({ hosts: 1, listeners: 1, participants: 2 });

      const r1 = await s.leave(p1.call.call_sid);
      expect(r1?.ended).toBe(false);
      expect(r1?.call.call_sid).toBe(p1.call.call_sid);
      expect(r1?.meeting.attendees).toEqual({ hosts: 1, listeners: 1, participants: 1 });
      expect(await s.getCall(p1.call.call_sid)).toBeNull();
      expect(await s.leave(p1.call.call_sid)).toBeNull();
      expect((await s.leave(host.call.call_sid))?.meeting.attendees).toEqual({ hosts: 0, listeners: 1, participants: 1 });
      expect((await s.leave(l1.call.call_sid))?.meeting.attendees).toEqual({ hosts: 0, listeners: 0, participants: 1 });
      const last = await s.leave(p2.call.call_sid);
      expect(last?.ended).toBe(true);
      expect(last?.meeting.meeting_sid).toBe(sid);
      expect(last?.meeting.attendees).toEqual({ hosts: 0, listeners: 0, participants: 0 });

      expect(await s.getMeeting(sid)).toBeNull();
      expect(await s.getMeetingByKey("kl")).toBeNull();
      expect(await s.listMeetings(ACCOUNT)).toEqual([]);
      expect(await s.listCalls(ACCOUNT)).toEqual([]);
      expect(await s.listCallsOfMeeting(sid)).toEqual([]);
      const again = await joined(s, joinInput("kl", "participant"));
      expect(again.created).toBe(true);
      expect(again.meeting.meeting_sid).not.toBe(sid);
    });

    test("a locked meeting refuses participants and listeners, never hosts", async () => {
      const s = h.open(space());
      const host = await joined(s, joinInput("lk", "host"));
      const sid = host.meeting.meeting_sid;
      expect((await s.updateMeeting(sid, { locked: true }))?.locked).toBe(true);
      for (const role of ["participant", "listener"] as const) {
        const r = await s.join(joinInput("lk", role, {}, { call_sid: `refused-${role}` }));
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.reason).toBe("locked");
          expect(r.meeting.meeting_sid).toBe(sid);
        }
        expect(await s.getCall(`refused-${role}`)).toBeNull();
      }
      const h2 = await joined(s, joinInput("lk", "host"));
      expect(h2.meeting.attendees).toEqual({ hosts: 2, listeners: 0, participants: 0 });
      await s.updateMeeting(sid, { locked: false });
      expect((await s.join(joinInput("lk", "participant"))).ok).toBe(true);
    });

    test("initial meeting state applies only when the join creates the meeting", async () => {
      const s = h.open(space());
      const first = await joined(
        s,
        joinInput("im", "participant", { initialMeeting: { participant_muted: "relaxed", on_hold: "lp" } }),
      );
      expect(first.meeting.participant_muted).toBe("relaxed");
      expect(first.meeting.on_hold).toBe("pl");
      const second = await joined(s, joinInput("im", "host", { initialMeeting: { participant_muted: "true", on_hold: "h" } }));
      expect(second.meeting.participant_muted).toBe("relaxed");
      expect(second.meeting.on_hold).toBe("pl");
    });

    test("updateCall and updateMeeting apply patches and say when nothing is there", async () => {
      const s = h.open(space());
      const r = await joined(s, joinInput("up", "participant", {}, { muted: true, gain_level: 2, name: "Ann" }));
      expect(r.call.muted).toBe(true);
      expect(r.call.gain_level).toBe(2);
      const c = await s.updateCall(r.call.call_sid, { muted: false, on_hold: true, name: "Bob", gain_level: -3 });
      expect(c).toMatchObject({ muted: false, on_hold: true, name: "Bob", gain_level: -3, role: "participant" });
      expect(await s.getCall(r.call.call_sid)).toEqual(c as NonNullable<typeof c>);
      expect((await s.updateCall(r.call.call_sid, {}))?.name).toBe("Bob");
      expect(await s.updateCall("nope", { muted: true })).toBeNull();
      expect(await rejection(s.updateCall(r.call.call_sid, { gain_level: 1.5 }))).toBeInstanceOf(RangeError);

      const sid = r.meeting.meeting_sid;
      const m = await s.updateMeeting(sid, { on_hold: "lph", participant_muted: "true", recording: true });
      expect(m).toMatchObject({ on_hold: "hpl", participant_muted: "true", recording: true, locked: false });
      expect(await s.getMeeting(sid)).toEqual(m as NonNullable<typeof m>);
      expect((await s.updateMeeting(sid, { on_hold: "" }))?.on_hold).toBe("");
      expect(await s.updateMeeting("nope", { locked: true })).toBeNull();
      expect(await rejection(s.updateMeeting(sid, { on_hold: "x" }))).toBeInstanceOf(RangeError);
      expect(await rejection(s.updateMeeting(sid, { participant_muted: "yes" as never }))).toBeInstanceOf(RangeError);
    });

    test("listCallsPage: listCalls' order page by page, the exact total, only live meetings' calls", async () => {
      const clock = manualClock();
      const s = h.open(space(), { clock: clock.now, leaseTtlMs: 1000 });
      const dead: string[] = [];
      for (let i = 0; i < 3; i++)
        dead.push(
          (await joined(s, joinInput("page-dead", i === 0 ? "host" : "participant", { nodeId: "node-dead" }))).call.call_sid,
        );
      clock.advance(600);
      const live: string[] = [];
      for (let i = 0; i < 7; i++)
        live.push(
          (await joined(s, joinInput(`page-live-${i % 2}`, i < 2 ? "host" : "listener", { nodeId: "node-live" }))).call.call_sid,
        );
      await joined(s, { ...joinInput("page-other", "host"), accountSid: OTHER_ACCOUNT });
      const all = await s.listCalls(ACCOUNT);
      expect(all.map((c) => c.call_sid).sort()).toEqual([...dead, ...live].sort());
      for (const limit of [0, 1, 3, 10, 100]) {
        for (const offset of [0, 1, 4, 9, 10, 11, 50]) {
          const page = await s.listCallsPage(ACCOUNT, offset, limit);
          expect(page.total).toBe(10);
          expect(page.items).toEqual(all.slice(offset, offset + limit));
        }
      }
      // node-dead's meeting runs out: its calls leave the page and the total at once, before
      // any reap (this first read sees them unreaped, and starts the reap).
      clock.advance(600);
      const first = await s.listCallsPage(ACCOUNT, 0, 100);
      expect(first.total).toBe(7);
      expect(first.items.map((c) => c.call_sid).sort()).toEqual([...live].sort());
      // Removing members may reorder a Redis set: compare pages once the reap is done.
      await s.reapExpired();
      const after = await s.listCalls(ACCOUNT);
      expect(after.map((c) => c.call_sid).sort()).toEqual([...live].sort());
      for (const [offset, limit] of [
        [0, 10],
        [0, 3],
        [3, 3],
        [6, 3],
        [7, 1],
      ] as const) {
        const page = await s.listCallsPage(ACCOUNT, offset, limit);
        expect(page.total).toBe(7);
        expect(page.items).toEqual(after.slice(offset, offset + limit));
      }
      expect(await s.listCallsPage("nobody", 0, 10)).toEqual({ items: [], total: 0 });
      expect((await s.listCallsPage(OTHER_ACCOUNT, 0, 10)).total).toBe(1);
      expect(await rejection(s.listCallsPage(ACCOUNT, -1, 10))).toBeInstanceOf(RangeError);
      expect(await rejection(s.listCallsPage(ACCOUNT, 0, 1.5))).toBeInstanceOf(RangeError);
    });

    test("endMeeting deletes the meeting and all its calls and returns them", async () => {
      const s = h.open(space());
      const a = await joined(s, joinInput("end", "host", { nodeId: "node-x" }));
      const b = await joined(s, joinInput("end", "participant"));
      const keep = await joined(s, joinInput("keep", "host"));
      const sid = a.meeting.meeting_sid;
      const r = await s.endMeeting(sid);
      expect(r?.nodeId).toBe("node-x");
      expect(r?.meeting.meeting_sid).toBe(sid);
      expect(r?.meeting.attendees).toEqual({ hosts: 1, listeners: 0, participants: 1 });
      expect(r?.calls.map((c) => c.call_sid).sort()).toEqual([a.call.call_sid, b.call.call_sid].sort());
      expect(await s.getMeeting(sid)).toBeNull();
      expect(await s.getCall(a.call.call_sid)).toBeNull();
      expect(await s.getMeetingByKey("end")).toBeNull();
      expect(await s.leave(b.call.call_sid)).toBeNull();
      expect(await s.endMeeting(sid)).toBeNull();
      expect((await s.listCalls(ACCOUNT)).map((c) => c.call_sid)).toEqual([keep.call.call_sid]);
      expect((await s.listMeetings(ACCOUNT)).map((m) => m.meeting_sid)).toEqual([keep.meeting.meeting_sid]);
    });

    test("bad input throws naming the field; a reused call_sid is refused", async () => {
      const s = h.open(space());
      expect(String(await rejection(s.join(joinInput("bad", "boss" as Role))))).toMatch(/call\.role/);
      expect(String(await rejection(s.join(joinInput("bad", "host", {}, { direction: "Up" as never }))))).toMatch(
        /call\.direction/,
      );
      expect(String(await rejection(s.join(joinInput("bad", "host", {}, { date_created: "yesterday" }))))).toMatch(
        /date_created/,
      );
      expect(String(await rejection(s.join(joinInput("bad", "host", { initialMeeting: { on_hold: "hx" } }))))).toMatch(/on_hold/);
      await joined(s, joinInput("dup", "host", {}, { call_sid: "same" }));
      expect(String(await rejection(s.join(joinInput("dup", "host", {}, { call_sid: "same" }))))).toMatch(/already in use/);
      expect((await s.getMeetingByKey("dup"))?.attendees.hosts).toBe(1);
      expect(await s.getMeetingByKey("bad")).toBeNull();
    });

    test("leases: an expired meeting is hidden, reaped, and replaced; renewal keeps it", async () => {
      const clock = manualClock();
      const sp = space();
      const s = h.open(sp, { clock: clock.now, leaseTtlMs: 1000 });
      const dead = await joined(s, joinInput("dead", "host", { nodeId: "node-dead" }));
      const deadP = await joined(s, joinInput("dead", "participant"));
      const live = await joined(s, joinInput("live", "host", { nodeId: "node-live" }));
      clock.advance(600);
      expect(await s.renewLease("node-live")).toEqual({ renewed: 1, lost: [] });
      clock.advance(600);
      // node-dead's lease ran out at +1000; node-live's runs until +1600.
      expect(await s.getMeeting(dead.meeting.meeting_sid)).toBeNull();
      expect(await s.getMeetingByKey("dead")).toBeNull();
      expect(await s.getCall(deadP.call.call_sid)).toBeNull();
      expect(await s.updateCall(deadP.call.call_sid, { muted: true })).toBeNull();
      expect(await s.updateMeeting(dead.meeting.meeting_sid, { locked: true })).toBeNull();
      expect(await s.listCallsOfMeeting(dead.meeting.meeting_sid)).toEqual([]);
      expect((await s.getMeetingInfo(live.meeting.meeting_sid))?.leaseExpiresAt).toBe(clock.now() - 600 + 1000);

      const reaped = await s.reapExpired();
      expect(reaped.map((m) => m.meeting_sid)).toEqual([dead.meeting.meeting_sid]);
      expect(await s.reapExpired()).toEqual([]);
      expect((await s.listMeetings(ACCOUNT)).map((m) => m.meeting_sid)).toEqual([live.meeting.meeting_sid]);
      expect((await s.listCalls(ACCOUNT)).map((c) => c.call_sid)).toEqual([live.call.call_sid]);
      expect(await s.leave(deadP.call.call_sid)).toBeNull();

      // The dead node comes back: its meeting is not revived, it learns it lost it.
      const again = await joined(s, joinInput("dead", "host", { nodeId: "node-new" }));
      expect(again.created).toBe(true);
      expect(again.meeting.meeting_sid).not.toBe(dead.meeting.meeting_sid);
      clock.advance(1000);
      const r = await s.renewLease("node-live", 5000);
      expect(r).toEqual({ renewed: 0, lost: [live.meeting.meeting_sid] });
      expect(await s.getCall(live.call.call_sid)).toBeNull();
      expect(await s.renewLease("node-live")).toEqual({ renewed: 0, lost: [] });
      expect(await rejection(s.renewLease("node-live", 0))).toBeInstanceOf(RangeError);
    });

    test("leases: a join to the key of an expired, unreaped meeting replaces it at once", async () => {
      const clock = manualClock();
      const s = h.open(space(), { clock: clock.now, leaseTtlMs: 500 });
      const old = await joined(s, joinInput("rk", "host"));
      const oldCall = old.call.call_sid;
      await s.updateMeeting(old.meeting.meeting_sid, { locked: true });
      clock.advance(501);
      const r = await joined(s, joinInput("rk", "participant"));
      expect(r.created).toBe(true);
      expect(r.meeting.locked).toBe(false);
      expect(r.meeting.attendees).toEqual({ hosts: 0, listeners: 0, participants: 1 });
      expect(await s.getCall(oldCall)).toBeNull();
      expect((await s.listCalls(ACCOUNT)).map((c) => c.call_sid)).toEqual([r.call.call_sid]);
    });

    test("leases: a list that meets an expired meeting reaps it in the background", async () => {
      const clock = manualClock();
      const sp = space();
      const s = h.open(sp, { clock: clock.now, leaseTtlMs: 1000 });
      const watcher = h.open(sp);
      const ended = await collectEvents(watcher, (e) => e.type === "meeting_ended");
      const r = await joined(s, joinInput("lazy", "host"));
      clock.advance(1000);
      expect(await s.listCalls(ACCOUNT)).toEqual([]);
      await waitFor(() => ended.length === 1);
      const e = ended[0];
      expect(e?.type === "meeting_ended" && [e.reason, e.meeting.meeting_sid, e.call_sids]).toEqual([
        "lease_expired",
        r.meeting.meeting_sid,
        [r.call.call_sid],
      ]);
      expect(await s.reapExpired()).toEqual([]);
    });

    test("leases with a real clock: a node that stops renewing loses its meetings", async () => {
      const sp = space();
      // A lease well above the renewal period: a loaded machine may stall a renewal a while.
      const s = h.open(sp, { leaseTtlMs: 600, reapIntervalMs: 50 });
      const other = h.open(sp, { leaseTtlMs: 600 });
      const alive = await joined(s, joinInput("alive", "host", { nodeId: "n-alive" }));
      const dead = await joined(other, joinInput("dying", "host", { nodeId: "n-dead" }));
      const ended = await collectEvents(s, (e) => e.type === "meeting_ended");
      for (let i = 0; i < 16; i++) {
        await Bun.sleep(50);
        await s.renewLease("n-alive");
      }
      expect(await s.getMeeting(alive.meeting.meeting_sid)).not.toBeNull();
      expect(await other.getMeeting(dead.meeting.meeting_sid)).toBeNull();
      await waitFor(() => ended.length > 0);
      expect(ended).toHaveLength(1);
      const e = ended[0];
      expect(e?.type === "meeting_ended" && e.reason).toBe("lease_expired");
      expect(e?.type === "meeting_ended" && e.call_sids).toEqual([dead.call.call_sid]);
      expect((await s.listMeetings(ACCOUNT)).map((m) => m.meeting_sid)).toEqual([alive.meeting.meeting_sid]);
    });

    test("200 concurrent joins from 20 clients make exactly one meeting; concurrent leaves end it exactly once", async () => {
      const sp = space();
      const clients = Array.from({ length: 20 }, () => h.open(sp));
      const roles: Role[] = Array.from({ length: 200 }, (_, i) =>
        i % 10 === 0 ? "host" : i % 3 === 0 ? "listener" : "participant",
      );
      const results = await Promise.all(
        roles.map((role, i) =>
          joined(clients[i % clients.length] as SessionStore, joinInput("crowd", role, { nodeId: `node-${i % 4}` })),
        ),
      );
      const sids = new Set(results.map((r) => r.meeting.meeting_sid));
      expect(sids.size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const owner = results.find((r) => r.created)?.ownerNodeId;
      expect(results.every((r) => r.ownerNodeId === owner)).toBe(true);
      const expected = {
        hosts: roles.filter((r) => r === "host").length,
        listeners: roles.filter((r) => r === "listener").length,
        participants: roles.filter((r) => r === "participant").length,
      };
      const sid = [...sids][0] as string;
      const m = await clients[0]?.getMeeting(sid);
      expect(m?.attendees).toEqual(expected);
      // Each join saw a distinct running total: no two joins interleaved.
      const totals = results.map(
        (r) => r.meeting.attendees.hosts + r.meeting.attendees.listeners + r.meeting.attendees.participants,
      );
      expect(new Set(totals).size).toBe(200);
      expect(await clients[1]?.listCallsOfMeeting(sid)).toHaveLength(200);
      expect(await clients[2]?.listCalls(ACCOUNT)).toHaveLength(200);

      const leaves = await Promise.all(
        results.map((r, i) => (clients[(i * 7) % clients.length] as SessionStore).leave(r.call.call_sid)),
      );
      expect(leaves.every((l) => l !== null)).toBe(true);
      expect(leaves.filter((l) => l?.ended)).toHaveLength(1);
      const remaining = leaves.map((l) => {
        const a = l?.meeting.attendees;
        return a ? a.hosts + a.listeners + a.participants : -1;
      });
      expect(new Set(remaining).size).toBe(200);
      expect(Math.min(...remaining)).toBe(0);
      expect(await clients[3]?.getMeeting(sid)).toBeNull();
      expect(await clients[3]?.getMeetingByKey("crowd")).toBeNull();
      expect(await clients[4]?.listCalls(ACCOUNT)).toEqual([]);
      expect(await clients[4]?.listMeetings(ACCOUNT)).toEqual([]);
    });

    test("concurrent joins and leaves around a locked meeting keep counts exact", async () => {
      const sp = space();
      const clients = Array.from({ length: 8 }, () => h.open(sp));
      const host = await joined(clients[0] as SessionStore, joinInput("mix", "host"));
      const sid = host.meeting.meeting_sid;
      const first = await Promise.all(
        Array.from({ length: 40 }, (_, i) => joined(clients[i % 8] as SessionStore, joinInput("mix", "participant"))),
      );
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++)
        ops.push((clients[i % 8] as SessionStore).leave((first[i] as { call: { call_sid: string } }).call.call_sid));
      ops.push((clients[1] as SessionStore).updateMeeting(sid, { locked: true }));
      const late = Array.from({ length: 20 }, (_, i) =>
        (clients[(i + 3) % 8] as SessionStore).join(joinInput("mix", "participant")),
      );
      ops.push(...late);
      await Promise.all(ops);
      const admitted = (await Promise.all(late)).filter((r) => r.ok).length;
      const m = await clients[2]?.getMeeting(sid);
      expect(m?.attendees).toEqual({ hosts: 1, listeners: 0, participants: 20 + admitted });
      expect(await clients[2]?.listCallsOfMeeting(sid)).toHaveLength(21 + admitted);
    });

    test("control messages reach the subscribed node, directly or through the meeting's owner", async () => {
      const sp = space();
      const errors: unknown[] = [];
      const mixer = h.open(sp, { onError: (e) => errors.push(e) });
      const api = h.open(sp);
      const got: ControlMessage[] = [];
      const gotB: ControlMessage[] = [];
      const stop = await mixer.control.subscribe("node-a", (m) => {
        got.push(m);
      });
      await mixer.control.subscribe("node-b", (m) => {
        gotB.push(m);
      });
      const r = await joined(mixer, joinInput("ctl", "host"));
      const sid = r.meeting.meeting_sid;
      const msgs: ControlMessage[] = [
        { type: "call_mute", meetingSid: sid, callSid: r.call.call_sid, muted: true },
        { type: "call_hold", meetingSid: sid, callSid: r.call.call_sid, on_hold: true },
        { type: "meeting_participant_muted", meetingSid: sid, participant_muted: "relaxed" },
        { type: "meeting_on_hold", meetingSid: sid, on_hold: "pl" },
        { type: "meeting_lock", meetingSid: sid, locked: true },
        { type: "call_hangup", meetingSid: sid, callSid: r.call.call_sid },
      ];
      for (const m of msgs) expect(await api.control.send("node-a", m)).toBe(1);
      expect(await api.control.sendToOwner({ type: "meeting_end", meetingSid: sid })).toBe(1);
      expect(await api.control.sendToOwner({ type: "meeting_end", meetingSid: "nope" })).toBeNull();
      await waitFor(() => got.length === 7);
      expect(got).toEqual([...msgs, { type: "meeting_end", meetingSid: sid }]);
      expect(gotB).toEqual([]);

      // A meeting mixed by two nodes (cascade): sendToMeeting reaches both, once each.
      const second = await mixer.join(joinInput("ctl", "participant", { nodeId: "node-b" }));
      expect(second.ok && second.ownerNodeId).toBe("node-a");
      const third = await mixer.join(joinInput("ctl", "participant", { nodeId: "node-b" }));
      expect(third.ok).toBe(true);
      const lock: ControlMessage = { type: "meeting_lock", meetingSid: sid, locked: false, origin: "node-b" };
      expect(await api.control.sendToMeeting(lock)).toBe(2);
      expect(await api.control.sendToMeeting({ type: "meeting_end", meetingSid: "nope" })).toBeNull();
      await waitFor(() => got.length === 8 && gotB.length === 1);
      expect(got[7]).toEqual(lock);
      expect(gotB).toEqual([lock]);

      // A throwing handler reports to onError and does not stop later deliveries.
      const stopBad = await mixer.control.subscribe("node-c", () => {
        throw new Error("boom");
      });
      const stillGot: ControlMessage[] = [];
      await mixer.control.subscribe("node-c", (m) => {
        stillGot.push(m);
      });
      await api.control.send("node-c", { type: "meeting_end", meetingSid: sid });
      await waitFor(() => stillGot.length === 1 && errors.length === 1);
      expect(String(errors[0])).toContain("boom");
      await stopBad();

      await stop();
      await stop();
      expect(await api.control.send("node-a", { type: "meeting_end", meetingSid: sid })).toBe(0);
      expect(await api.control.send("node-z", { type: "meeting_end", meetingSid: sid })).toBe(0);
    });

    test("events describe every change, in order", async () => {
      const sp = space();
      const watcher = h.open(sp);
      const s = h.open(sp);
      const events = await collectEvents(watcher);
      const a = await joined(s, joinInput("ev", "host"));
      const b = await joined(s, joinInput("ev", "participant"));
      await s.updateCall(b.call.call_sid, { muted: true, name: "" });
      await s.updateCall(b.call.call_sid, { muted: true });
      await s.updateMeeting(a.meeting.meeting_sid, { participant_muted: "true" });
      await s.leave(b.call.call_sid);
      await s.leave(a.call.call_sid);
      const c = await joined(s, joinInput("ev2", "host"));
      await s.endMeeting(c.meeting.meeting_sid);
      await waitFor(() => events.length >= 11);
      await Bun.sleep(20);
      expect(events.map((e) => e.type)).toEqual([
        "meeting_started",
        "call_joined",
        "call_joined",
        "call_updated",
        "meeting_updated",
        "call_left",
        "call_left",
        "meeting_ended",
        "meeting_started",
        "call_joined",
        "meeting_ended",
      ]);
      const endedByApi = events[10];
      expect(endedByApi?.type === "meeting_ended" && endedByApi.reason).toBe("ended");
      expect(endedByApi?.type === "meeting_ended" && endedByApi.call_sids).toEqual([c.call.call_sid]);
      for (const e of events) {
        expect(e.account_sid).toBe(ACCOUNT);
        expect(e.at).toMatch(ISO_MS);
      }
      const upd = events[3];
      expect(upd?.type === "call_updated" && upd.changes).toEqual({ muted: true });
      const mu = events[4];
      expect(mu?.type === "meeting_updated" && mu.changes).toEqual({ participant_muted: "true" });
      const ended = events[7];
      expect(ended?.type === "meeting_ended" && ended.reason).toBe("last_left");
      const started = events[0];
      expect(started?.type === "meeting_started" && started.meeting.meeting_sid).toBe(a.meeting.meeting_sid);
      const joinedEv = events[2];
      expect(joinedEv?.type === "call_joined" && joinedEv.call.call_sid).toBe(b.call.call_sid);
      expect(joinedEv?.type === "call_joined" && joinedEv.meeting.attendees.participants).toBe(1);
    });

    test("close is idempotent", async () => {
      const s = h.open(space());
      await s.events.subscribe(() => {});
      await s.control.subscribe("n", () => {});
      await waitFor(() => s.events.health.live);
      await Promise.all([s.close(), s.close()]);
      expect(s.events.health.live).toBe(false);
      await s.close();
      expect(String(await rejection(s.getMeeting("x")))).toMatch(/after close/);
      expect(String(await rejection(s.join(joinInput("closed", "host"))))).toMatch(/after close/);
    });
  });
}
