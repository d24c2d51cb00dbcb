import { expect, test } from "bun:test";
import { assignDid, forEachDatabase } from "../../testing.ts";

const OPEN = "fb2b69b1-6998-4cdc-b04c-a267c585f767";
const NOT_FOUND = { message: "no item error", errors: [{ field: null, message: "cannot find did", reference_sid: null }] };

forEachDatabase((h) => {
  test("an assigned number shows for its account with derived formats", async () => {
    const did = await assignDid(h(), h().a, "15162065919");
    const r = await h().json("GET", `/conference/v2/dids/${did.did_sid}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      account_sid: h().a.accountSid,
      attributes: {},
      call_flow_sid: null,
      country_code: "USA",
      did_group_sid: null,
      did_sid: did.did_sid,
      in_country_format: "(516) 206-5919",
      international_format: "+1 516-206-5919",
      phonenumber: "15162065919",
    });
    const list = await h().json("GET", "/conference/v2/dids?filter=phonenumber+like+%25206591%25");
    expect(list.body.items).toEqual([r.body]);
  });

  test("another account's DID answers 404 everywhere and is not listed", async () => {
    const theirs = await assignDid(h(), h().b, "15162065920");
    const p = `/conference/v2/dids/${theirs.did_sid}`;
    const whole = { attributes: {}, call_flow_sid: OPEN, did_group_sid: null };
    for (const [method, body] of [["GET"], ["PATCH", { call_flow_sid: OPEN }], ["PUT", whole]] as const) {
      const r = await h().json(method, p, body ? { body } : {});
      expect(r.status).toBe(404);
      expect(r.body).toEqual(NOT_FOUND);
    }
    const list = await h().json("GET", "/conference/v2/dids?limit=1000");
    expect(list.body.items.some((d: { did_sid: string }) => d.did_sid === theirs.did_sid)).toBe(false);
    expect((await h().json("GET", p, { auth: h().b.auth })).body.call_flow_sid).toBeNull();
  });

  test("PATCH did_group_sid (the reference's example) and call_flow_sid; another account's group is a 422", async () => {
    const did = await assignDid(h(), h().a, "15162065921");
    const p = `/conference/v2/dids/${did.did_sid}`;
    const group = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    const r = await h().json("PATCH", p, { body: { did_group_sid: group.did_group_sid } });
    expect(r.status).toBe(200);
    expect(r.body.did_group_sid).toBe(group.did_group_sid);
    const cf = await h().json("PATCH", p, { body: { call_flow_sid: OPEN } });
    expect(cf.body).toMatchObject({ call_flow_sid: OPEN, did_group_sid: group.did_group_sid });
    const foreign = (await h().json("POST", "/conference/v2/did_groups", { auth: h().b.auth, body: {} })).body;
    const bad = await h().json("PATCH", p, { body: { did_group_sid: foreign.did_group_sid } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe("did_group_sid");
    expect((await h().json("GET", p)).body.did_group_sid).toBe(group.did_group_sid);
  });

  test("PATCH attributes: the four rules", async () => {
    const did = await assignDid(h(), h().a, "15162065922");
    const p = `/conference/v2/dids/${did.did_sid}`;
    let r = await h().json("PATCH", p, { body: { attributes: { conference_language: "EN", conference_moh: "jazz" } } });
    r = await h().json("PATCH", p, { body: { attributes: { conference_language: "IT" } } });
    expect(r.body.attributes).toEqual({ conference_language: "IT", conference_moh: "jazz" });
    r = await h().json("PATCH", p, { body: { attributes: { recording_method: "local" } } });
    expect(r.body.attributes).toEqual({ conference_language: "IT", conference_moh: "jazz", recording_method: "local" });
    r = await h().json("PATCH", p, { body: { attributes: { conference_moh: null } } });
    expect(r.body.attributes).toEqual({ conference_language: "IT", recording_method: "local" });
    r = await h().json("PATCH", `${p}?nested_objects=replace`, { body: { attributes: {} } });
    expect(r.body.attributes).toEqual({});
  });

  test("read-only fields: the current value round-trips, another value is a 422", async () => {
    const did = await assignDid(h(), h().a, "15162065923");
    const p = `/conference/v2/dids/${did.did_sid}`;
    const current = (await h().json("GET", p)).body;
    const rt = await h().json("PUT", p, { body: { ...current, call_flow_sid: OPEN } });
    expect(rt.status).toBe(200);
    expect(rt.body).toEqual({ ...current, call_flow_sid: OPEN });
    for (const [field, value] of [
      ["phonenumber", "15550000000"],
      ["country_code", "CAN"],
      ["in_country_format", "x"],
      ["international_format", "y"],
      ["did_sid", "00000000-0000-4000-8000-000000000000"],
      ["account_sid", h().b.accountSid],
    ] as const) {
      const r = await h().json("PATCH", p, { body: { [field]: value } });
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual([{ field, message: "field is read only and cannot be changed", reference_sid: null }]);
    }
  });

  test("PUT: a reset written out in full", async () => {
    const did = await assignDid(h(), h().a, "15162065924");
    const p = `/conference/v2/dids/${did.did_sid}`;
    const group = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    await h().json("PATCH", p, {
      body: { call_flow_sid: OPEN, did_group_sid: group.did_group_sid, attributes: { conference_moh: "x" } },
    });
    const r = await h().json("PUT", p, { body: { call_flow_sid: null, did_group_sid: null, attributes: {} } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ call_flow_sid: null, did_group_sid: null, attributes: {}, phonenumber: "15162065924" });
  });

  test("PUT requires the entire object: each missing field is a 422 entry, and nothing changes", async () => {
    const did = await assignDid(h(), h().a, "15162065927");
    const p = `/conference/v2/dids/${did.did_sid}`;
    const group = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    const before = (
      await h().json("PATCH", p, {
        body: { call_flow_sid: OPEN, did_group_sid: group.did_group_sid, attributes: { conference_moh: "x" } },
      })
    ).body;
    const required = (field: string) => ({ field, message: "field is required", reference_sid: null });
    const cases: [unknown, unknown[]][] = [
      [{}, [required("attributes"), required("call_flow_sid"), required("did_group_sid")]],
      [{ did_group_sid: null }, [required("attributes"), required("call_flow_sid")]],
      [{ ...before, attributes: undefined }, [required("attributes")]],
      [{ phonenumber: before.phonenumber, call_flow_sid: null, attributes: {} }, [required("did_group_sid")]],
    ];
    for (const [body, errors] of cases) {
      const r = await h().json("PUT", p, { body });
      expect([body, r.status, r.body]).toEqual([body, 422, { message: "object validation error", errors }]);
    }
    expect((await h().request("PUT", p)).status).toBe(422);
    expect((await h().json("GET", p)).body).toEqual(before);
  });

  test("numbers cannot be created or deleted through the Conference API", async () => {
    expect((await h().json("POST", "/conference/v2/dids", { body: { phonenumber: "15162065925" } })).status).toBe(404);
    const did = await assignDid(h(), h().a, "15162065926");
    expect((await h().json("DELETE", `/conference/v2/dids/${did.did_sid}`)).status).toBe(404);
  });
});
