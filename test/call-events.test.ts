/**
 * End to end, with real phones (baresip): a caller still at the access-code prompt is a
 * Call in the API with no meeting, keeps its call_sid when it joins, and the event
 * stream (GET /conference/v2/events, SSE) tells a real meeting's life in order.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CALL_FIELDS } from "@conf/session-store";
import { callBed } from "./lib/call-bed.ts";
import { eventually } from "./lib/service.ts";

const NUMBER = "15162065923";
const HOST_CODE = "5551";
const PART_CODE = "5552";

const bed = callBed({ number: NUMBER, ports: { from: 53000, blocks: 50 }, quietAccount: true });

type Call = {
  call_sid: string;
  meeting_sid: string | null;
  meeting_room_sid: string | null;
  date_joined: string | null;
  role: string | null;
  access_code: string;
  muted: boolean;
  number_src: string;
};
type Event = {
  event_id: string;
  type: string;
  meeting_sid: string | null;
  call_sid: string | null;
  data: Record<string, unknown>;
  changes?: Record<string, unknown>;
};

/** The account's event stream, read from the moment it is connected. */
class EventStream {
  readonly events: Event[] = [];
  private readonly abort = new AbortController();
  private connected = false;
  private done: Promise<void> = Promise.resolve();

  async open(): Promise<void> {
    const res = await fetch(`${bed.svc.api}/conference/v2/events`, {
      headers: { Authorization: bed.acct.account.authorization, Accept: "text/event-stream" },
      signal: this.abort.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`events: ${res.status}`);
    const body = res.body;
    this.done = (async () => {
      const dec = new TextDecoder();
      let buf = "";
      try {
        for await (const chunk of body) {
          buf += dec.decode(chunk, { stream: true });
          for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            if (block.includes(": connected")) this.connected = true;
            const data = block.split("\n").find((l) => l.startsWith("data: "));
            if (data) this.events.push(JSON.parse(data.slice(6)) as Event);
          }
        }
      } catch {
        // aborted by close()
      }
    })();
    await eventually(async () => this.connected, 5000, "the event stream");
  }

  /** Events of these calls or of these meetings, in the order the stream sent them. */
  of(callSids: readonly string[], meetingSids: readonly string[] = []): Event[] {
    return this.events.filter(
      (e) =>
        (e.call_sid !== null && callSids.includes(e.call_sid)) ||
        (e.call_sid === null && meetingSids.includes(e.meeting_sid ?? "")),
    );
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

const stream = new EventStream();

async function calls(query = ""): Promise<Call[]> {
  const r = await bed.acct.account.req<{ items: Call[] }>("GET", `/conference/v2/calls?limit=100${query}`);
  return r.body.items;
}

/** The one call of the caller with this user name, once the API lists it. */
async function callOfUser(user: string, check: (c: Call) => boolean = () => true): Promise<Call> {
  return eventually(
    async () => (await calls()).find((c) => c.number_src.includes(`sip:${user}@`) && check(c)),
    15_000,
    `a call of ${user}`,
  );
}

beforeAll(async () => {
  const room = await bed.acct.account.req("POST", "/conference/v2/meeting_rooms", {
    name: "events",
    access_codes: [
      { access_code: HOST_CODE, role: "host" },
      { access_code: PART_CODE, role: "participant" },
    ],
  });
  if (room.status !== 200) throw new Error(`room: ${room.status}`);
  await stream.open();
}, 60_000);

afterAll(() => stream.close());

describe("calls at the access-code prompt", () => {
  test("a caller who has not keyed its code is a Call with no meeting; joining keeps its call_sid", async () => {
    const c = await bed.caller(440, "3101");
    c.dial(bed.uri, 60);
    await c.waitFor(/Call established/, 10_000);
    const lobby = await callOfUser("3101");
    expect(lobby).toMatchObject({ meeting_sid: null, meeting_room_sid: null, date_joined: null, role: null, access_code: "" });
    const got = await bed.acct.account.req<Call>("GET", `/conference/v2/calls/${lobby.call_sid}`);
    expect(got.status).toBe(200);
    expect(Object.keys(got.body).sort()).toEqual([...CALL_FIELDS]);
    expect(got.body.meeting_sid).toBeNull();
    expect((await calls("&filter=meeting_sid+eq+null")).map((x) => x.call_sid)).toEqual([lobby.call_sid]);
    // Nothing to mute yet: 409 until it joins.
    const early = await bed.acct.account.req("PATCH", `/conference/v2/calls/${lobby.call_sid}`, { muted: true });
    expect(early.status).toBe(409);

    c.sendDigits(`${HOST_CODE}#`);
    const joined = await callOfUser("3101", (x) => x.meeting_sid !== null);
    expect(joined).toMatchObject({ call_sid: lobby.call_sid, role: "host", access_code: HOST_CODE });
    expect(joined.date_joined).not.toBeNull();
    // One record: the lobby's became the joined call.
    expect((await calls()).filter((x) => x.number_src.includes("sip:3101@"))).toHaveLength(1);
    expect(await calls("&filter=meeting_sid+eq+null")).toEqual([]);

    c.command("/hangup");
    await eventually(async () => (await calls()).length === 0, 10_000, "no calls");
    // Its events: entered at the prompt (no meeting), joined and left under the same sid.
    await eventually(async () => stream.of([lobby.call_sid]).length >= 3, 5000, "its events");
    const mine = stream.of([lobby.call_sid]);
    expect(mine.map((e) => [e.type, e.meeting_sid])).toEqual([
      ["call.entered", null],
      ["call.joined", joined.meeting_sid],
      ["call.left", joined.meeting_sid],
    ]);
    // call.entered carries the Call object as GET returned it then (duration aside).
    const { duration: _d, ...entered } = (mine[0]?.data ?? {}) as Record<string, unknown>;
    const { duration: _g, ...asGot } = got.body as unknown as Record<string, unknown>;
    expect(entered).toEqual(asGot);
    await c.stop();
  }, 60_000);

  test("a caller who hangs up at the prompt, or is hung up by DELETE, leaves no record", async () => {
    const quitter = await bed.caller(440, "3201");
    quitter.dial(bed.uri, 60);
    await quitter.waitFor(/Call established/, 10_000);
    const q = await callOfUser("3201");
    quitter.command("/hangup");
    await eventually(async () => (await calls()).length === 0, 10_000, "the quitter gone");

    const dropped = await bed.caller(440, "3202");
    dropped.dial(bed.uri, 60);
    await dropped.waitFor(/Call established/, 10_000);
    const d = await callOfUser("3202");
    const del = await bed.acct.account.req("DELETE", `/conference/v2/calls/${d.call_sid}`);
    expect(del.status).toBe(204);
    expect((await bed.acct.account.req("GET", `/conference/v2/calls/${d.call_sid}`)).status).toBe(404);
    // The node that answered it hangs the phone up.
    await dropped.waitFor(/terminat|closed/i, 10_000);
    await eventually(async () => stream.of([q.call_sid, d.call_sid]).length >= 4, 5000, "their events");
    expect(stream.of([q.call_sid, d.call_sid]).map((e) => [e.call_sid, e.type, e.meeting_sid])).toEqual([
      [q.call_sid, "call.entered", null],
      [q.call_sid, "call.left", null],
      [d.call_sid, "call.entered", null],
      [d.call_sid, "call.left", null],
    ]);
    await quitter.stop();
    await dropped.stop();
  }, 60_000);
});

describe("the event stream of a real meeting", () => {
  test("meeting.started before the first call.joined; per call entered, joined, updated, left; meeting.ended last", async () => {
    const host = await bed.caller(440, "3301");
    const part = await bed.caller(1000, "3302");
    await bed.dialIn(host, HOST_CODE);
    const h = await callOfUser("3301", (x) => x.meeting_sid !== null);
    await bed.dialIn(part, PART_CODE);
    const p = await callOfUser("3302", (x) => x.meeting_sid !== null);
    const meetingSid = h.meeting_sid as string;
    expect(p.meeting_sid).toBe(meetingSid);
    // An update from the API, and one from the keypad (*6: the host mutes itself).
    const muted = await bed.acct.account.req<Call>("PATCH", `/conference/v2/calls/${p.call_sid}`, { muted: "true" });
    expect(muted.status).toBe(200);
    host.sendDigits("*6");
    await callOfUser("3301", (x) => x.muted);
    part.command("/hangup");
    await eventually(async () => (await calls()).length === 1, 10_000, "the participant gone");
    host.command("/hangup");
    await eventually(async () => stream.of([], [meetingSid]).some((e) => e.type === "meeting.ended"), 10_000, "meeting.ended");
    const withTalkers = stream.of([h.call_sid, p.call_sid], [meetingSid]);
    const tag = (e: Event) => `${e.type}${e.call_sid === p.call_sid ? ":p" : e.call_sid === h.call_sid ? ":h" : ""}`;
    // Who talks when depends on the audio; it must only fall inside the talker's time in the meeting.
    for (const who of ["h", "p"]) {
      const steps = withTalkers.map(tag).filter((t) => t.endsWith(`:${who}`));
      const talks = steps.flatMap((t, i) => (t.startsWith("talker.") ? [i] : []));
      for (const i of talks) {
        expect(i).toBeGreaterThan(steps.indexOf(`call.joined:${who}`));
        expect(i).toBeLessThan(steps.indexOf(`call.left:${who}`));
      }
    }
    const all = withTalkers.filter((e) => !e.type.startsWith("talker."));
    const types = all.map(tag);
    const at = (t: string) => types.indexOf(t);
    const last = (t: string) => types.lastIndexOf(t);
    // The meeting's bounds.
    expect(types.filter((t) => t === "meeting.started")).toHaveLength(1);
    expect(at("meeting.started")).toBeLessThan(Math.min(at("call.joined:h"), at("call.joined:p")));
    expect(types[types.length - 1]).toBe("meeting.ended");
    expect(types.filter((t) => t === "meeting.ended")).toHaveLength(1);
    // Each call: entered at the prompt, joined, updated (API mute, keypad mute), left, once each.
    for (const who of ["h", "p"]) {
      const steps = types.filter((t) => t.endsWith(`:${who}`));
      expect(steps, types.join(" ")).toEqual([
        `call.entered:${who}`,
        `call.joined:${who}`,
        `call.updated:${who}`,
        `call.left:${who}`,
      ]);
    }
    expect(at("call.left:p")).toBeLessThan(at("call.left:h"));
    expect(last("call.left:h")).toBeLessThan(at("meeting.ended"));
    // Data: the Call object as GET returns it, with its meeting once joined.
    for (const e of all.filter((x) => x.call_sid !== null)) {
      expect(Object.keys(e.data).sort()).toEqual([...CALL_FIELDS]);
      expect(e.data.meeting_sid).toBe(e.type === "call.entered" ? null : meetingSid);
    }
    const upd = all.filter((e) => e.type === "call.updated");
    expect(upd.map((e) => [e.call_sid, e.changes])).toEqual([
      [p.call_sid, { muted: true }],
      [h.call_sid, { muted: true }],
    ]);
    await host.stop();
    await part.stop();
  }, 60_000);
});
