/**
 * Calls at the access-code prompt (the mixer's lobby): listed and read as Call objects
 * with no meeting, filtered and paged with the joined ones; PATCH answers 409 until they
 * join; DELETE goes to the node that answered them.
 */
import { beforeAll, expect, test } from "bun:test";
import { CALL_FIELDS } from "@conf/session-store";
import { assignDid, eventually, forEachLivePlane, NODE_ID } from "../../testing.ts";

const NOT_FOUND = { message: "no item error", errors: [{ field: null, message: "cannot find call", reference_sid: null }] };

forEachLivePlane((h) => {
  let joinedSid = "";
  let meetingSid = "";
  let n = 0;
  const enter = async (account = h().a.accountSid, nodeId = NODE_ID) => {
    const call = await h().store.enter({
      call_sid: crypto.randomUUID(),
      account_sid: account,
      codecs: "PCMU",
      number_src: `<sip:+1760569${String(++n).padStart(4, "0")}@55.66.77.88>`,
      number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
      name: "",
      direction: "In",
      nodeId,
    });
    if (!call) throw new Error("call sid in use");
    return call.call_sid;
  };

  beforeAll(async () => {
    await assignDid(h(), h().a, "15162065515");
    await h().json("POST", "/conference/v2/meeting_rooms", {
      body: { name: "Lobby", access_codes: [{ access_code: "890671", role: "host" }] },
    });
    const j = await h().dialIn("15162065515", "890671");
    joinedSid = j.call.call_sid;
    meetingSid = j.meeting.meeting_sid;
  }, 60_000);

  test("a caller at the prompt is a Call with no meeting: listed, read, filtered and paged with the joined", async () => {
    // A listing read before it entered is cached: its entry drops the page.
    expect((await h().json("GET", "/conference/v2/calls")).body.total).toBe(1);
    const sid = await enter();
    let list: { total: number; items: { call_sid: string }[] } = { total: 0, items: [] };
    for (let i = 0; i < 100 && list.total !== 2; i++) {
      list = (await h().json("GET", "/conference/v2/calls")).body;
      if (list.total !== 2) await Bun.sleep(10);
    }
    expect(list.total).toBe(2);
    const got = await h().json("GET", `/conference/v2/calls/${sid}`);
    expect(got.status).toBe(200);
    expect(Object.keys(got.body).sort()).toEqual([...CALL_FIELDS]);
    expect(got.body).toMatchObject({
      call_sid: sid,
      account_sid: h().a.accountSid,
      access_code: "",
      meeting_sid: null,
      meeting_room_sid: null,
      date_joined: null,
      role: null,
      muted: false,
      on_hold: false,
    });
    expect(list.items.map((c) => c.call_sid).sort()).toEqual([joinedSid, sid].sort());
    const q = async (query: string) => (await h().json("GET", `/conference/v2/calls?${query}`)).body;
    expect((await q("filter=meeting_sid+eq+null")).items.map((c: { call_sid: string }) => c.call_sid)).toEqual([sid]);
    expect((await q("filter=meeting_sid+ne+null")).items.map((c: { call_sid: string }) => c.call_sid)).toEqual([joinedSid]);
    expect((await q("filter=role+eq+host")).total).toBe(1);
    expect((await q("filter=date_joined+le+2100-01-01T00:00:00.000Z")).total).toBe(1);
    expect((await q("order=role&include_fields=call_sid,role")).items).toEqual([
      { call_sid: joinedSid, role: "host" },
      { call_sid: sid, role: null },
    ]);
    // Page by page (the store's own pages) and whole (a filter) agree.
    const extra = [await enter(), await enter()];
    try {
      const whole = await q("filter=duration+ge+0&limit=100&include_fields=call_sid");
      expect(whole.total).toBe(4);
      const paged: unknown[] = [];
      for (let offset = 0; offset < 4; offset += 3) {
        const page = await q(`limit=3&offset=${offset}&include_fields=call_sid`);
        expect(page.total).toBe(4);
        paged.push(...page.items);
      }
      expect(paged).toEqual(whole.items);
      // Another account sees none of them.
      const theirs = await h().json("GET", "/conference/v2/calls", { auth: h().b.auth });
      expect(theirs.body.total).toBe(0);
      expect((await h().json("GET", `/conference/v2/calls/${sid}`, { auth: h().b.auth })).body).toEqual(NOT_FOUND);
    } finally {
      for (const x of [sid, ...extra]) await h().store.leaveLobby(x);
    }
  });

  test("the same call_sid carries on when the caller joins", async () => {
    const sid = await enter();
    expect((await h().json("GET", `/conference/v2/calls/${sid}`)).body.meeting_sid).toBeNull();
    const r = await h().store.join({
      meetingKey: `${h().a.accountSid}:adhoc:lobby`,
      accountSid: h().a.accountSid,
      meetingRoomSid: null,
      nodeId: NODE_ID,
      call: {
        call_sid: sid,
        access_code: "4321",
        codecs: "PCMU",
        number_src: "<sip:1@h>",
        number_dst: "<sip:2@h>",
        name: "",
        direction: "In",
        role: "participant",
      },
    });
    if (!r.ok) throw new Error("refused");
    const after = (await h().json("GET", `/conference/v2/calls/${sid}`)).body;
    expect(after).toMatchObject({ call_sid: sid, meeting_sid: r.meeting.meeting_sid, role: "participant", access_code: "4321" });
    expect((await h().json("GET", "/conference/v2/calls?filter=meeting_sid+eq+null")).body.total).toBe(0);
    await h().store.leave(sid);
  });

  test("PATCH of a caller at the prompt: 409 naming each field, until it joins; read-only values round-trip", async () => {
    const sid = await enter();
    try {
      const p = `/conference/v2/calls/${sid}`;
      const r = await h().json("PATCH", p, { body: { muted: true, name: "Pat" } });
      expect(r.status).toBe(409);
      const message =
        "the call is at the access-code prompt, in no meeting yet (meeting_sid is null); try again once it has joined";
      expect(r.body).toEqual({
        message: "conflict",
        errors: [
          { field: "muted", message, reference_sid: null },
          { field: "name", message, reference_sid: null },
        ],
      });
      expect((await h().json("GET", p)).body.muted).toBe(false);
      // GET, PATCH back the same: nothing to change, 200 with the object.
      const current = (await h().json("GET", p)).body;
      const same = await h().json("PATCH", p, { body: { meeting_sid: null, role: null, call_sid: sid } });
      expect(same.status).toBe(200);
      expect(same.body.call_sid).toBe(current.call_sid);
      const ro = await h().json("PATCH", p, { body: { role: "host" } });
      expect(ro.status).toBe(422);
    } finally {
      await h().store.leaveLobby(sid);
    }
  });

  test("DELETE of a caller at the prompt goes to the node that answered it; the object is gone at once", async () => {
    const sid = await enter();
    h().control.length = 0;
    const r = await h().json("DELETE", `/conference/v2/calls/${sid}`);
    expect(r.status).toBe(204);
    await eventually(() => h().control.length > 0);
    expect(h().control[0]).toEqual({ type: "call_hangup", meetingSid: "", callSid: sid });
    expect((await h().json("GET", `/conference/v2/calls/${sid}`)).status).toBe(404);
    // Held by a node that is not listening (gone): still deleted.
    const orphan = await enter(h().a.accountSid, "node-gone");
    expect((await h().json("DELETE", `/conference/v2/calls/${orphan}`)).status).toBe(204);
    expect(await h().store.getCall(orphan)).toBeNull();
    // Another account's, and a missing one: the same 404.
    const theirs = await enter(h().b.accountSid);
    try {
      for (const x of [theirs, "00000000-0000-4000-8000-000000000000"]) {
        const miss = await h().json("DELETE", `/conference/v2/calls/${x}`);
        expect(miss.status).toBe(404);
        expect(miss.body).toEqual(NOT_FOUND);
      }
      expect((await h().store.getCall(theirs))?.call_sid).toBe(theirs);
    } finally {
      await h().store.leaveLobby(theirs);
    }
  });

  test("DELETE of a joined call goes to the node mixing it, with its meeting", async () => {
    const j = await h().dialIn("15162065515", "890671");
    h().control.length = 0;
    expect((await h().json("DELETE", `/conference/v2/calls/${j.call.call_sid}`)).status).toBe(204);
    await eventually(() => h().control.length > 0);
    expect(h().control[0]).toEqual({ type: "call_hangup", meetingSid: j.meeting.meeting_sid, callSid: j.call.call_sid });
    expect((await h().json("GET", `/conference/v2/calls/${j.call.call_sid}`)).status).toBe(404);
    expect((await h().json("GET", `/conference/v2/meetings/${meetingSid}`)).body.attendees.hosts).toBe(1);
  });
});
