import { beforeAll, expect, test } from "bun:test";
import { MEETING_FIELDS } from "@conf/session-store";
import { assignDid, eventually, forEachLivePlane } from "../../testing.ts";

const NOT_FOUND = { message: "no item error", errors: [{ field: null, message: "cannot find meeting", reference_sid: null }] };

forEachLivePlane((h) => {
  let roomSid = "";
  let meetingSid = "";
  let theirMeeting = "";

  beforeAll(async () => {
    await assignDid(h(), h().a, "15162069515");
    await assignDid(h(), h().b, "15162069516");
    roomSid = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: {
          access_codes: [
            { access_code: "890671", role: "host" },
            { access_code: "265423", role: "listener" },
            { access_code: "143623", role: "participant" },
          ],
        },
      })
    ).body.meeting_room_sid;
    await h().json("POST", "/conference/v2/meeting_rooms", {
      auth: h().b.auth,
      body: { access_codes: [{ access_code: "222", role: "host" }] },
    });
    meetingSid = (await h().dialIn("15162069515", "890671")).meeting.meeting_sid;
    await h().dialIn("15162069515", "143623");
    await h().dialIn("15162069515", "143623");
    theirMeeting = (await h().dialIn("15162069516", "222")).meeting.meeting_sid;
  }, 60_000);

  test("list: total is null, as in the reference; attendees counted per role", async () => {
    const r = await h().json("GET", "/conference/v2/meetings");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ count: 1, has_more: false, limit: 10, offset: 0, pagination: {}, total: null });
    expect(r.body.items[0]).toEqual({
      account_sid: h().a.accountSid,
      attendees: { hosts: 1, listeners: 0, participants: 2 },
      date_created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      duration: expect.any(Number),
      locked: false,
      meeting_room_sid: roomSid,
      meeting_sid: meetingSid,
      on_hold: "",
      participant_muted: "false",
      recording: false,
    });
  });

  test("get by SID; another account's meeting is a 404 like a missing one", async () => {
    expect((await h().json("GET", `/conference/v2/meetings/${meetingSid}`)).body.meeting_sid).toBe(meetingSid);
    for (const sid of [theirMeeting, "00000000-0000-4000-8000-000000000000"]) {
      const r = await h().json("GET", `/conference/v2/meetings/${sid}`);
      expect(r.status).toBe(404);
      expect(r.body).toEqual(NOT_FOUND);
    }
    const excluded: string[] = ["attendees", "duration", "date_created"];
    const sel = await h().json("GET", `/conference/v2/meetings/${meetingSid}?exclude_fields=${excluded.join(",")}`);
    expect(Object.keys(sel.body).sort()).toEqual(MEETING_FIELDS.filter((f) => !excluded.includes(f)));
  });

  test('PATCH {"on_hold":"pl"} (the reference\'s example) and participant_muted: stored and sent to the owner', async () => {
    h().control.length = 0;
    const r = await h().json("PATCH", `/conference/v2/meetings/${meetingSid}`, { body: '{"on_hold":"pl"}' });
    expect(r.status).toBe(200);
    expect(r.body.on_hold).toBe("pl");
    await eventually(() => h().control.length === 1);
    expect(h().control[0]).toEqual({ type: "meeting_on_hold", meetingSid, on_hold: "pl" });
    for (const [sent, stored] of [
      ["relaxed", "relaxed"],
      [true, "true"],
      ["false", "false"],
    ] as const) {
      const m = await h().json("PATCH", `/conference/v2/meetings/${meetingSid}`, { body: { participant_muted: sent } });
      expect(m.status).toBe(200);
      expect(m.body.participant_muted).toBe(stored);
    }
    await eventually(() => h().control.length === 4);
    expect(h().control.at(-1)).toEqual({ type: "meeting_participant_muted", meetingSid, participant_muted: "false" });
    const cleared = await h().json("PATCH", `/conference/v2/meetings/${meetingSid}`, { body: { on_hold: "" } });
    expect(cleared.body.on_hold).toBe("");
  });

  test('PATCH {"locked":true} (not in the reference): stored and sent to the owner; "false" unlocks', async () => {
    const p = `/conference/v2/meetings/${meetingSid}`;
    // The earlier tests' hold messages may still be on their way (Redis pub/sub): count only locks.
    const locks = () => h().control.filter((m) => m.type === "meeting_lock");
    h().control.length = 0;
    const r = await h().json("PATCH", p, { body: { locked: true } });
    expect(r.status).toBe(200);
    expect(r.body.locked).toBe(true);
    expect((await h().json("GET", p)).body.locked).toBe(true);
    await eventually(() => locks().length === 1);
    expect(locks()[0]).toEqual({ type: "meeting_lock", meetingSid, locked: true });
    const u = await h().json("PATCH", p, { body: { locked: "false" } });
    expect(u.body.locked).toBe(false);
    await eventually(() => locks().length === 2);
    expect(locks()[1]).toEqual({ type: "meeting_lock", meetingSid, locked: false });
    const theirs = await h().json("PATCH", `/conference/v2/meetings/${theirMeeting}`, { body: { locked: true } });
    expect(theirs.body).toEqual(NOT_FOUND);
    expect((await h().json("GET", `/conference/v2/meetings/${theirMeeting}`, { auth: h().b.auth })).body.locked).toBe(false);
  });

  test("PATCH errors: bad values, read-only fields, another account's meeting", async () => {
    const p = `/conference/v2/meetings/${meetingSid}`;
    const cases: [unknown, string, string][] = [
      [{ on_hold: "hx" }, "on_hold", "must be a set of the letters h, p and l"],
      [{ on_hold: 1 }, "on_hold", "must be a set of the letters h, p and l"],
      [{ participant_muted: "maybe" }, "participant_muted", "must be false, relaxed or true"],
      [{ locked: "yes" }, "locked", "must be true or false"],
      [{ recording: true }, "recording", "field is read only and cannot be changed"],
      [{ meeting_room_sid: null }, "meeting_room_sid", "field is read only and cannot be changed"],
      [{ colour: "red" }, "colour", "unknown field"],
    ];
    for (const [body, field, message] of cases) {
      const r = await h().json("PATCH", p, { body });
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual([{ field, message, reference_sid: null }]);
    }
    const current = (await h().json("GET", p)).body;
    const rt = await h().json("PATCH", p, { body: { ...current, duration: 99999, attendees: { hosts: 9 }, on_hold: "l" } });
    expect(rt.status).toBe(200);
    expect(rt.body.on_hold).toBe("l");
    const theirs = await h().json("PATCH", `/conference/v2/meetings/${theirMeeting}`, { body: { on_hold: "hpl" } });
    expect(theirs.body).toEqual(NOT_FOUND);
    expect((await h().json("GET", `/conference/v2/meetings/${theirMeeting}`, { auth: h().b.auth })).body.on_hold).toBe("");
  });

  test("filtering over live meetings, nested attendees included", async () => {
    const q = async (query: string) => (await h().json("GET", `/conference/v2/meetings?${query}`)).body;
    expect((await q("filter=attendees.participants+ge+2")).count).toBe(1);
    expect((await q("filter=attendees.hosts+eq+0")).count).toBe(0);
    expect((await q(`filter=meeting_room_sid+eq+${roomSid}+and+locked+eq+false`)).count).toBe(1);
    expect((await q("filter=participant_muted+in+(true,relaxed)")).count).toBe(0);
    const zero = await q("limit=0");
    expect(zero).toMatchObject({ count: 0, has_more: true, total: null, items: [] });
    expect(zero.pagination).toEqual({ next: "http://api.test/conference/v2/meetings?limit=10&offset=0" });
    expect(await q("limit=1")).toMatchObject({ count: 1, has_more: false, pagination: {} });
    expect(await q("offset=1")).toMatchObject({
      count: 0,
      has_more: true,
      pagination: { previous: "http://api.test/conference/v2/meetings?offset=0" },
    });
    expect(await q(`offset=1&filter=${encodeURIComponent("locked eq true")}`)).toMatchObject({
      count: 0,
      has_more: false,
      pagination: {},
    });
    expect((await h().json("GET", "/conference/v2/meetings?filter=attendees+eq+1")).status).toBe(400);
  });

  test("DELETE another account's meeting is a 404 and ends nothing", async () => {
    expect((await h().json("DELETE", `/conference/v2/meetings/${theirMeeting}`)).body).toEqual(NOT_FOUND);
    expect((await h().json("GET", `/conference/v2/meetings/${theirMeeting}`, { auth: h().b.auth })).status).toBe(200);
  });

  test("DELETE ends the meeting: the owner is told to hang up, then the meeting and its calls are gone", async () => {
    h().control.length = 0;
    const res = await h().request("DELETE", `/conference/v2/meetings/${meetingSid}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await eventually(() => h().control.length > 0);
    expect(h().control).toEqual([{ type: "meeting_end", meetingSid }]);
    expect((await h().json("GET", `/conference/v2/meetings/${meetingSid}`)).body).toEqual(NOT_FOUND);
    expect((await h().json("GET", "/conference/v2/meetings")).body.items).toEqual([]);
    expect((await h().json("GET", "/conference/v2/calls")).body.total).toBe(0);
    expect((await h().json("DELETE", `/conference/v2/meetings/${meetingSid}`)).status).toBe(404);
    // The other account's meeting runs on.
    expect((await h().json("GET", "/conference/v2/calls", { auth: h().b.auth })).body.total).toBe(1);
  });
});
