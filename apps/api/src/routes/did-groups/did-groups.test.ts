import { expect, test } from "bun:test";
import { assignDid, forEachDatabase } from "../../testing.ts";

const SECURED = "665bd4c6-7f44-4c46-a467-1e4696f52968";
const OPEN = "fb2b69b1-6998-4cdc-b04c-a267c585f767";
const MISSING = "00000000-0000-4000-8000-00000000abcd";
const NOT_FOUND = { message: "no item error", errors: [{ field: null, message: "cannot find did group", reference_sid: null }] };

forEachDatabase((h) => {
  test("POST {} creates a group with the reference's defaults (200, not 201)", async () => {
    const r = await h().json("POST", "/conference/v2/did_groups", { body: {} });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      account_sid: h().a.accountSid,
      attributes: {},
      call_flow_sid: null,
      did_group_sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "N/A",
    });
    expect(h().bus.messages.at(-1)).toEqual({
      channel: "config:invalidate",
      message: { kind: "account", accountSid: h().a.accountSid },
    });
  });

  test("POST with every field; read-only fields only with the caller's own account", async () => {
    const r = await h().json("POST", "/conference/v2/did_groups", {
      body: { name: "Sales", call_flow_sid: OPEN, attributes: { conference_language: "DE" }, account_sid: h().a.accountSid },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "Sales", call_flow_sid: OPEN, attributes: { conference_language: "DE" } });
    const ro = await h().json("POST", "/conference/v2/did_groups", { body: { did_group_sid: MISSING } });
    expect(ro.status).toBe(422);
    expect(ro.body.errors).toEqual([
      { field: "did_group_sid", message: "field is read only and cannot be changed", reference_sid: null },
    ]);
    const other = await h().json("POST", "/conference/v2/did_groups", { body: { account_sid: h().b.accountSid } });
    expect(other.status).toBe(422);
    const badFlow = await h().json("POST", "/conference/v2/did_groups", { body: { call_flow_sid: MISSING } });
    expect(badFlow.status).toBe(422);
    expect(badFlow.body.errors[0].field).toBe("call_flow_sid");
    const badAttr = await h().json("POST", "/conference/v2/did_groups", {
      body: { attributes: { conference_start_how: "never" } },
    });
    expect(badAttr.status).toBe(422);
    expect(badAttr.body.errors[0].field).toBe("attributes.conference_start_how");
  });

  test("get, list, PATCH (the reference's example), PUT, DELETE 204", async () => {
    const created = (await h().json("POST", "/conference/v2/did_groups", { body: { name: "G", call_flow_sid: SECURED } })).body;
    const p = `/conference/v2/did_groups/${created.did_group_sid}`;
    expect((await h().json("GET", p)).body).toEqual(created);
    const list = await h().json(
      "GET",
      `/conference/v2/did_groups?filter=${encodeURIComponent(`did_group_sid eq ${created.did_group_sid}`)}`,
    );
    expect(list.body.items).toEqual([created]);
    const patched = await h().json("PATCH", p, { body: { name: "New DID group" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created, name: "New DID group" });
    const rt = await h().json("PUT", p, { body: { ...patched.body, attributes: { conference_moh: "jazz" } } });
    expect(rt.body).toEqual({ ...patched.body, attributes: { conference_moh: "jazz" } });
    const reset = await h().json("PUT", p, { body: { name: "N/A", call_flow_sid: null, attributes: {} } });
    expect(reset.body).toEqual({ ...created, name: "N/A", call_flow_sid: null, attributes: {} });
    const del = await h().request("DELETE", p);
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    const gone = await h().json("GET", p);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual(NOT_FOUND);
    expect((await h().json("DELETE", p)).status).toBe(404);
  });

  test("PUT requires the entire object: each missing field is a 422 entry, and nothing changes", async () => {
    const g = (
      await h().json("POST", "/conference/v2/did_groups", {
        body: { name: "Whole", call_flow_sid: SECURED, attributes: { conference_moh: "jazz" } },
      })
    ).body;
    const p = `/conference/v2/did_groups/${g.did_group_sid}`;
    const required = (field: string) => ({ field, message: "field is required", reference_sid: null });
    const cases: [unknown, unknown[]][] = [
      [{ name: "x" }, [required("attributes"), required("call_flow_sid")]],
      [{}, [required("attributes"), required("call_flow_sid"), required("name")]],
      [{ did_group_sid: g.did_group_sid, attributes: {}, call_flow_sid: null }, [required("name")]],
    ];
    for (const [body, errors] of cases) {
      const r = await h().json("PUT", p, { body });
      expect([body, r.status, r.body]).toEqual([body, 422, { message: "object validation error", errors }]);
    }
    expect((await h().request("PUT", p)).status).toBe(422);
    expect((await h().json("GET", p)).body).toEqual(g);
  });

  test("PATCH attributes: the four rules", async () => {
    const g = (await h().json("POST", "/conference/v2/did_groups", { body: { attributes: { conference_language: "EN" } } })).body;
    const p = `/conference/v2/did_groups/${g.did_group_sid}`;
    let r = await h().json("PATCH", p, { body: { attributes: { conference_language: "ES" } } });
    expect(r.body.attributes).toEqual({ conference_language: "ES" });
    r = await h().json("PATCH", p, { body: { attributes: { conference_moh: "jazz" } } });
    expect(r.body.attributes).toEqual({ conference_language: "ES", conference_moh: "jazz" });
    r = await h().json("PATCH", p, { body: { attributes: { conference_language: null } } });
    expect(r.body.attributes).toEqual({ conference_moh: "jazz" });
    r = await h().json("PATCH", `${p}?nested_objects=replace`, { body: { attributes: { conference_singlemember: "on" } } });
    expect(r.body.attributes).toEqual({ conference_singlemember: "on" });
  });

  test("another account's group answers 404 on every method, and is untouched", async () => {
    const theirs = (await h().json("POST", "/conference/v2/did_groups", { auth: h().b.auth, body: { name: "B's" } })).body;
    const p = `/conference/v2/did_groups/${theirs.did_group_sid}`;
    const whole = { name: "x", call_flow_sid: null, attributes: {} };
    for (const [method, body] of [["GET"], ["PATCH", { name: "x" }], ["PUT", whole], ["DELETE"]] as const) {
      const r = await h().json(method, p, body ? { body } : {});
      expect(r.status).toBe(404);
      expect(r.body).toEqual(NOT_FOUND);
    }
    const list = await h().json("GET", "/conference/v2/did_groups?limit=1000");
    expect(list.body.items.some((g: { did_group_sid: string }) => g.did_group_sid === theirs.did_group_sid)).toBe(false);
    expect((await h().json("GET", p, { auth: h().b.auth })).body).toEqual(theirs);
    for (const sid of [MISSING, "nope"])
      expect((await h().json("GET", `/conference/v2/did_groups/${sid}`)).body).toEqual(NOT_FOUND);
  });

  test("deleting a group leaves its DIDs and meeting rooms without a group", async () => {
    const g = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    const did = await assignDid(h(), h().a, "15162060001");
    await h().json("PATCH", `/conference/v2/dids/${did.did_sid}`, { body: { did_group_sid: g.did_group_sid } });
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { did_group_sid: g.did_group_sid } })).body;
    expect(room.did_group_sid).toBe(g.did_group_sid);
    expect((await h().request("DELETE", `/conference/v2/did_groups/${g.did_group_sid}`)).status).toBe(204);
    expect((await h().json("GET", `/conference/v2/dids/${did.did_sid}`)).body.did_group_sid).toBeNull();
    expect((await h().json("GET", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`)).body.did_group_sid).toBeNull();
  });
});
