import { beforeAll, expect, test } from "bun:test";
import { CALL_FIELDS } from "@conf/session-store";
import { assignDid, eventually, forEachLivePlane, NODE_ID } from "../../testing.ts";

const NOT_FOUND = { message: "no item error", errors: [{ field: null, message: "cannot find call", reference_sid: null }] };
const SAMPLE_KEYS: string[] = [...CALL_FIELDS];

forEachLivePlane((h) => {
  let roomSid = "";
  let hostSid = "";
  let participantSid = "";
  let theirSid = "";

  beforeAll(async () => {
    await assignDid(h(), h().a, "15162065515");
    await assignDid(h(), h().b, "15162065516");
    const room = await h().json("POST", "/conference/v2/meeting_rooms", {
      body: {
        name: "Live",
        access_codes: [
          { access_code: "890671", role: "host" },
          { access_code: "143623", role: "participant" },
        ],
      },
    });
    roomSid = room.body.meeting_room_sid;
    await h().json("POST", "/conference/v2/meeting_rooms", {
      auth: h().b.auth,
      body: { access_codes: [{ access_code: "111111", role: "host" }] },
    });
    expect((await h().json("GET", "/conference/v2/calls")).body).toEqual({
      count: 0,
      has_more: false,
      items: [],
      limit: 10,
      offset: 0,
      pagination: {},
      total: 0,
    });
    hostSid = (await h().dialIn("15162065515", "890671", { name: "Host" })).call.call_sid;
    participantSid = (await h().dialIn("15162065515", "143623", { number_src: "17605693333" })).call.call_sid;
    theirSid = (await h().dialIn("15162065516", "111111")).call.call_sid;
  }, 60_000);

  test("list: the account's calls in the reference's shape", async () => {
    const r = await h().json("GET", "/conference/v2/calls?order=role");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ count: 2, has_more: false, limit: 10, offset: 0, pagination: {}, total: 2 });
    const [host, participant] = r.body.items;
    expect(Object.keys(host).sort()).toEqual(SAMPLE_KEYS);
    expect(host).toMatchObject({
      access_code: "890671",
      account_sid: h().a.accountSid,
      call_sid: hostSid,
      codecs: "PCMU",
      direction: "In",
      gain_level: 0,
      meeting_room_sid: roomSid,
      muted: false,
      name: "Host",
      number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
      on_hold: false,
      role: "host",
    });
    expect(typeof host.duration).toBe("number");
    expect(host.date_joined).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(participant).toMatchObject({ call_sid: participantSid, role: "participant", meeting_sid: host.meeting_sid });
  });

  test("get by SID; another account's call and a missing one are the same 404", async () => {
    const r = await h().json("GET", `/conference/v2/calls/${hostSid}`);
    expect(r.status).toBe(200);
    expect(r.body.call_sid).toBe(hostSid);
    for (const sid of [theirSid, "00000000-0000-4000-8000-000000000000", "x"]) {
      const miss = await h().json("GET", `/conference/v2/calls/${sid}`);
      expect(miss.status).toBe(404);
      expect(miss.body).toEqual(NOT_FOUND);
    }
    expect((await h().json("GET", `/conference/v2/calls/${theirSid}`, { auth: h().b.auth })).status).toBe(200);
    expect((await h().json("GET", `/conference/v2/calls/${hostSid}?include_fields=call_sid,role`)).body).toEqual({
      call_sid: hostSid,
      role: "host",
    });
  });

  test('PATCH {"muted":"true"} (the reference\'s example): stored, and sent to the owning node', async () => {
    h().control.length = 0;
    const r = await h().json("PATCH", `/conference/v2/calls/${participantSid}`, { body: '{"muted":"true"}' });
    expect(r.status).toBe(200);
    expect(r.body.muted).toBe(true);
    expect((await h().json("GET", `/conference/v2/calls/${participantSid}`)).body.muted).toBe(true);
    await eventually(() => h().control.length > 0);
    expect(h().control[0]).toEqual({ type: "call_mute", meetingSid: r.body.meeting_sid, callSid: participantSid, muted: true });
  });

  test("PATCH on_hold and name, booleans as JSON or strings", async () => {
    h().control.length = 0;
    let r = await h().json("PATCH", `/conference/v2/calls/${participantSid}`, {
      body: { on_hold: true, name: "Pat", muted: "false" },
    });
    expect(r.body).toMatchObject({ on_hold: true, name: "Pat", muted: false });
    await eventually(() => h().control.length >= 2);
    expect(
      h()
        .control.map((m) => m.type)
        .sort(),
    ).toEqual(["call_hold", "call_mute"]);
    r = await h().json("PATCH", `/conference/v2/calls/${participantSid}`, { body: { on_hold: "false" } });
    expect(r.body.on_hold).toBe(false);
  });

  test("PATCH errors: 422 naming the field, read-only fields, another account's call", async () => {
    const p = `/conference/v2/calls/${participantSid}`;
    const bad = await h().json("PATCH", p, { body: { muted: "yes" } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([{ field: "muted", message: "must be true or false", reference_sid: null }]);
    const ro = await h().json("PATCH", p, { body: { role: "host" } });
    expect(ro.status).toBe(422);
    expect(ro.body.errors).toEqual([{ field: "role", message: "field is read only and cannot be changed", reference_sid: null }]);
    const unknown = await h().json("PATCH", p, { body: { volume: 3 } });
    expect(unknown.body.errors[0]).toEqual({ field: "volume", message: "unknown field", reference_sid: null });
    // GET, edit, PATCH back: read-only values equal, duration may have moved on.
    const current = (await h().json("GET", p)).body;
    const rt = await h().json("PATCH", p, { body: { ...current, duration: current.duration + 5, name: "Round" } });
    expect(rt.status).toBe(200);
    expect(rt.body.name).toBe("Round");
    const theirs = await h().json("PATCH", `/conference/v2/calls/${theirSid}`, { body: { muted: true } });
    expect(theirs.status).toBe(404);
    expect((await h().json("GET", `/conference/v2/calls/${theirSid}`, { auth: h().b.auth })).body.muted).toBe(false);
    expect((await h().json("PATCH", p, { body: "{", headers: { "Content-Type": "application/json" } })).status).toBe(400);
  });

  test("filtering, ordering, paging and field filtering over live calls", async () => {
    const q = async (query: string) => (await h().json("GET", `/conference/v2/calls?${query}`)).body;
    expect((await q("filter=role+eq+host")).items.map((c: { call_sid: string }) => c.call_sid)).toEqual([hostSid]);
    expect((await q(`filter=${encodeURIComponent('role in ("host", "listener") and muted eq false')}`)).total).toBe(1);
    expect((await q("filter=duration+ge+0")).total).toBe(2);
    expect((await q(`filter=date_joined+le+${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total).toBe(2);
    expect((await q("filter=number_src+like+%25693333%25")).items[0].call_sid).toBe(participantSid);
    expect((await q("filter=name+ilike+round")).total).toBe(1);
    expect((await q("filter=meeting_room_sid+ne+null")).total).toBe(2);
    const page = await q("order=role+desc&limit=1&include_fields=role");
    expect(page).toMatchObject({ count: 1, has_more: true, total: 2, items: [{ role: "participant" }] });
    expect(page.pagination.next).toBe("http://api.test/conference/v2/calls?order=role+desc&limit=1&include_fields=role&offset=1");
    expect((await q("limit=0")).count).toBe(0);
    expect((await q("offset=5")).items).toEqual([]);
    const bad = await h().json("GET", "/conference/v2/calls?filter=muted+eq+maybe");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].message).toContain('"muted" is true or false');
    expect((await h().json("GET", "/conference/v2/calls?order=volume")).status).toBe(400);
    expect((await h().json("GET", "/conference/v2/calls?limit=1001")).status).toBe(400);
  });

  test("unfiltered pages (read page by page from the store) agree with the filtered list (read whole)", async () => {
    const extra: string[] = [];
    for (let i = 0; i < 5; i++)
      extra.push((await h().dialIn("15162065515", "143623", { number_src: `1760569400${i}` })).call.call_sid);
    try {
      const q = async (query: string) => (await h().json("GET", `/conference/v2/calls?${query}`)).body;
      // A filter every call passes takes the read-everything path, in the store's order.
      const whole = await q("filter=duration+ge+0&limit=100");
      expect(whole.total).toBe(7);
      const paged = [];
      let url: string | undefined = "/conference/v2/calls?limit=3&include_fields=call_sid,role";
      while (url) {
        const r: { total: number; count: number; items: unknown[]; pagination: { next?: string } } = (
          await h().json("GET", url.replace("http://api.test", ""))
        ).body;
        expect(r.total).toBe(7);
        expect(r.count).toBe(r.items.length);
        paged.push(...r.items);
        url = r.pagination.next;
      }
      expect(paged).toEqual(whole.items.map((c: { call_sid: string; role: string }) => ({ call_sid: c.call_sid, role: c.role })));
      const calls = "http://api.test/conference/v2/calls";
      expect(await q("limit=3&offset=6")).toMatchObject({
        count: 1,
        has_more: true,
        total: 7,
        pagination: { previous: `${calls}?limit=3&offset=3` },
      });
      expect((await q("limit=3&offset=6")).pagination.next).toBeUndefined();
      expect(await q("limit=3&offset=3")).toMatchObject({
        count: 3,
        has_more: true,
        pagination: { next: `${calls}?limit=3&offset=6`, previous: `${calls}?limit=3&offset=0` },
      });
      expect(await q("limit=0")).toMatchObject({
        count: 0,
        has_more: true,
        total: 7,
        pagination: { next: `${calls}?limit=10&offset=0` },
      });
      expect(await q("offset=7")).toMatchObject({
        count: 0,
        has_more: true,
        total: 7,
        items: [],
        pagination: { previous: `${calls}?offset=0` },
      });
      expect(await q("limit=7")).toMatchObject({ count: 7, has_more: false, pagination: {} });
      // The read-everything path (a filter) answers the same envelope.
      expect(await q("filter=duration+ge+0&limit=3&offset=6")).toMatchObject({
        count: 1,
        has_more: true,
        pagination: { previous: `${calls}?filter=duration+ge+0&limit=3&offset=3` },
      });
      expect((await h().json("GET", "/conference/v2/calls?limit=1", { auth: h().b.auth })).body).toMatchObject({
        count: 1,
        total: 1,
      });
    } finally {
      for (const sid of extra) await h().store.leave(sid);
    }
  });

  test("DELETE (not in the reference): the owner is told to hang the call up; another account's call is a 404", async () => {
    const extra = (await h().dialIn("15162065515", "143623")).call;
    h().control.length = 0;
    const r = await h().request("DELETE", `/conference/v2/calls/${extra.call_sid}`);
    expect(r.status).toBe(204);
    expect(await r.text()).toBe("");
    await eventually(() => h().control.length > 0);
    expect(h().control).toEqual([{ type: "call_hangup", meetingSid: extra.meeting_sid, callSid: extra.call_sid }]);
    await h().store.leave(extra.call_sid);
    for (const sid of [theirSid, extra.call_sid, "x"]) {
      const miss = await h().json("DELETE", `/conference/v2/calls/${sid}`);
      expect(miss.status).toBe(404);
      expect(miss.body).toEqual(NOT_FOUND);
    }
    expect((await h().json("GET", `/conference/v2/calls/${theirSid}`, { auth: h().b.auth })).status).toBe(200);
    expect(h().control).toHaveLength(1);
  });

  test("the stand-in node is the owner", async () => {
    const info = await h().store.getMeetingInfo((await h().store.getCall(hostSid))?.meeting_sid ?? "");
    expect(info?.nodeId).toBe(NODE_ID);
  });
});
