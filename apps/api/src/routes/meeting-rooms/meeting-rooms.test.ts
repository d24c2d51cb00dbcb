import { expect, test } from "bun:test";
import { DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import { assignDid, forEachDatabase } from "../../testing.ts";

const OPEN = "fb2b69b1-6998-4cdc-b04c-a267c585f767";
const SECURED = "665bd4c6-7f44-4c46-a467-1e4696f52968";
const NOT_FOUND = {
  message: "no item error",
  errors: [{ field: null, message: "cannot find meeting room", reference_sid: null }],
};
const CODES = [
  { access_code: "890671", role: "host" },
  { access_code: "265423", role: "listener" },
  { access_code: "143623", role: "participant" },
];

forEachDatabase((h) => {
  test("POST the reference's example: 200 with the object, codes in the order given", async () => {
    const r = await h().json("POST", "/conference/v2/meeting_rooms", {
      body: '{"name":"My meeting room","access_codes":[{"access_code":"890671","role":"host"},{"access_code":"265423","role":"listener"},{"access_code":"143623","role":"participant"}]}',
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      access_codes: CODES,
      account_sid: h().a.accountSid,
      attributes: {},
      did_group_sid: null,
      meeting_room_sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "My meeting room",
    });
    expect((await h().json("GET", `/conference/v2/meeting_rooms/${r.body.meeting_room_sid}`)).body).toEqual(r.body);
  });

  test("POST {}: name N/A, no codes", async () => {
    const r = await h().json("POST", "/conference/v2/meeting_rooms", { body: {} });
    expect(r.body).toMatchObject({ name: "N/A", access_codes: [], attributes: {}, did_group_sid: null });
  });

  test("409 for an access code used in another room of the account, naming the field, code and room", async () => {
    const first = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "555001", role: "host" }] },
      })
    ).body;
    const r = await h().json("POST", "/conference/v2/meeting_rooms", {
      body: { name: "dup", access_codes: [{ access_code: "555001", role: "participant" }] },
    });
    expect(r.status).toBe(409);
    expect(r.body.message).toBe("conflict");
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors[0].field).toBe("access_codes");
    expect(r.body.errors[0].message).toContain("555001");
    expect(r.body.errors[0].reference_sid).toBe(first.meeting_room_sid);
    // Nothing was created.
    const list = await h().json("GET", `/conference/v2/meeting_rooms?filter=name+eq+dup`);
    expect(list.body.total).toBe(0);
    // PATCH into a conflict is a 409 too, and leaves the room as it was.
    const other = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "555002", role: "host" }] },
      })
    ).body;
    const p = await h().json("PATCH", `/conference/v2/meeting_rooms/${other.meeting_room_sid}`, {
      body: { access_codes: [{ access_code: "555001", role: "host" }] },
    });
    expect(p.status).toBe(409);
    expect((await h().json("GET", `/conference/v2/meeting_rooms/${other.meeting_room_sid}`)).body.access_codes).toEqual([
      { access_code: "555002", role: "host" },
    ]);
    // Another account may use the same code.
    const b = await h().json("POST", "/conference/v2/meeting_rooms", {
      auth: h().b.auth,
      body: { access_codes: [{ access_code: "555001", role: "host" }] },
    });
    expect(b.status).toBe(200);
    // A room may keep its own codes on update.
    const same = await h().json("PUT", `/conference/v2/meeting_rooms/${first.meeting_room_sid}`, {
      body: { ...first, access_codes: [{ access_code: "555001", role: "participant" }] },
    });
    expect(same.status).toBe(200);
  });

  test("422 for bad access codes: format, role, duplicates in one body, shape", async () => {
    const cases: [unknown, string][] = [
      [[{ access_code: "12#4", role: "host" }], "access_codes[0].access_code"],
      [[{ access_code: "1234", role: "boss" }], "access_codes[0].role"],
      [[{ access_code: "1234" }], "access_codes[0].role"],
      [[{ access_code: "1234", role: "host", pin: 1 }], "access_codes[0].pin"],
      [{ access_code: "1234" }, "access_codes"],
      [
        [
          { access_code: "777", role: "host" },
          { access_code: "777", role: "listener" },
        ],
        "access_codes",
      ],
    ];
    for (const [codes, field] of cases) {
      const r = await h().json("POST", "/conference/v2/meeting_rooms", { body: { access_codes: codes } });
      expect(r.status).toBe(422);
      expect(r.body.message).toBe("object validation error");
      expect(r.body.errors[0].field).toBe(field);
    }
  });

  test("PATCH: name alone keeps the codes; access_codes are replaced whole", async () => {
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: {
          access_codes: [
            { access_code: "600001", role: "host" },
            { access_code: "600002", role: "participant" },
          ],
        },
      })
    ).body;
    const p = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const named = await h().json("PATCH", p, { body: { name: "Updated meeting room" } });
    expect(named.body).toEqual({ ...room, name: "Updated meeting room" });
    const codes = await h().json("PATCH", p, { body: { access_codes: [{ access_code: "600003", role: "listener" }] } });
    expect(codes.body.access_codes).toEqual([{ access_code: "600003", role: "listener" }]);
    // The replaced codes are free again.
    const reuse = await h().json("POST", "/conference/v2/meeting_rooms", {
      body: { access_codes: [{ access_code: "600001", role: "host" }] },
    });
    expect(reuse.status).toBe(200);
    const cleared = await h().json("PATCH", p, { body: { access_codes: [] } });
    expect(cleared.body.access_codes).toEqual([]);
  });

  test("PATCH attributes: the four rules", async () => {
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", { body: { attributes: { conference_start_how: "moderator" } } })
    ).body;
    const p = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    let r = await h().json("PATCH", p, { body: { attributes: { conference_start_how: "first" } } });
    expect(r.body.attributes).toEqual({ conference_start_how: "first" });
    r = await h().json("PATCH", p, { body: { attributes: { conference_stop_how: "last" } } });
    expect(r.body.attributes).toEqual({ conference_start_how: "first", conference_stop_how: "last" });
    r = await h().json("PATCH", p, { body: { attributes: { conference_start_how: null } } });
    expect(r.body.attributes).toEqual({ conference_stop_how: "last" });
    r = await h().json("PATCH", `${p}?nested_objects=replace`, {
      body: { attributes: { conference_rollcall: "on", conference_moh: null } },
    });
    expect(r.body.attributes).toEqual({ conference_rollcall: "on" });
  });

  test("PUT: round-trip, and a reset written out in full", async () => {
    const g = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: {
          name: "R",
          did_group_sid: g.did_group_sid,
          attributes: { conference_moh: "jazz" },
          access_codes: [{ access_code: "700001", role: "host" }],
        },
      })
    ).body;
    const p = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const rt = await h().json("PUT", p, { body: room });
    expect(rt.status).toBe(200);
    expect(rt.body).toEqual(room);
    const reset = await h().json("PUT", p, { body: { name: "N/A", did_group_sid: null, attributes: {}, access_codes: [] } });
    expect(reset.body).toEqual({ ...room, name: "N/A", did_group_sid: null, attributes: {}, access_codes: [] });
    const ro = await h().json("PUT", p, { body: { ...room, meeting_room_sid: g.did_group_sid } });
    expect(ro.status).toBe(422);
    expect(ro.body.errors).toEqual([
      { field: "meeting_room_sid", message: "field is read only and cannot be changed", reference_sid: null },
    ]);
  });

  test("PUT requires the entire object: each missing field is a 422 entry, and nothing changes", async () => {
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { name: "Whole", attributes: { conference_moh: "jazz" }, access_codes: [{ access_code: "700002", role: "host" }] },
      })
    ).body;
    const p = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const required = (field: string) => ({ field, message: "field is required", reference_sid: null });
    const cases: [string, unknown, unknown[]][] = [
      [
        "only a name (the audit's case)",
        { name: "x" },
        [required("access_codes"), required("attributes"), required("did_group_sid")],
      ],
      ["{}", {}, [required("access_codes"), required("attributes"), required("did_group_sid"), required("name")]],
      [
        "read-only fields only",
        { account_sid: room.account_sid, meeting_room_sid: room.meeting_room_sid },
        [required("access_codes"), required("attributes"), required("did_group_sid"), required("name")],
      ],
      [
        "a bad value beside a missing field",
        { access_codes: [], attributes: {}, name: 5 },
        [required("did_group_sid"), { field: "name", message: "must be a string", reference_sid: null }],
      ],
      [
        "a meeting key without its role",
        { ...room, access_codes: [{ access_code: "700003" }] },
        [{ field: "access_codes[0].role", message: "must be one of host, participant, listener", reference_sid: null }],
      ],
    ];
    for (const [name, body, errors] of cases) {
      const r = await h().json("PUT", p, { body });
      expect([name, r.status, r.body]).toEqual([name, 422, { message: "object validation error", errors }]);
    }
    // An undeclared empty body is `{}` and refused the same way.
    expect((await h().request("PUT", p)).status).toBe(422);
    // Declared as JSON, an empty body is not JSON: the reference's 400.
    expect((await h().request("PUT", p, { headers: { "Content-Type": "application/json" } })).status).toBe(400);
    expect((await h().json("GET", p)).body).toEqual(room);
  });

  test("did_group_sid must be a group of the account", async () => {
    const foreign = (await h().json("POST", "/conference/v2/did_groups", { auth: h().b.auth, body: {} })).body;
    const r = await h().json("POST", "/conference/v2/meeting_rooms", { body: { did_group_sid: foreign.did_group_sid } });
    expect(r.status).toBe(422);
    expect(r.body.errors[0].field).toBe("did_group_sid");
  });

  test("DELETE 204 with an empty body, then 404; the codes are free again", async () => {
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "800001", role: "host" }] },
      })
    ).body;
    const p = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const del = await h().request("DELETE", p);
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await h().json("GET", p)).body).toEqual(NOT_FOUND);
    expect(
      (
        await h().json("POST", "/conference/v2/meeting_rooms", {
          body: { access_codes: [{ access_code: "800001", role: "host" }] },
        })
      ).status,
    ).toBe(200);
  });

  test("another account's room answers 404 on every method and is untouched", async () => {
    const theirs = (await h().json("POST", "/conference/v2/meeting_rooms", { auth: h().b.auth, body: { name: "B room" } })).body;
    const p = `/conference/v2/meeting_rooms/${theirs.meeting_room_sid}`;
    const whole = { name: "x", attributes: {}, did_group_sid: null, access_codes: [] };
    for (const [method, body] of [["GET"], ["PATCH", { name: "x" }], ["PUT", whole], ["DELETE"]] as const) {
      const r = await h().json(method, p, body ? { body } : {});
      expect(r.status).toBe(404);
      expect(r.body).toEqual(NOT_FOUND);
    }
    expect((await h().json("GET", `${p}/resolved_attributes`)).body).toEqual(NOT_FOUND);
    expect((await h().json("GET", p, { auth: h().b.auth })).body).toEqual(theirs);
  });

  test("resolved_attributes: each value with the level and SID it came from", async () => {
    const { a } = h();
    await h().json("PATCH", `/conference/v2/accounts/${a.accountSid}`, {
      body: { attributes: { conference_language: "DE", conference_moh: "acct" } },
    });
    const group = (
      await h().json("POST", "/conference/v2/did_groups", {
        body: { call_flow_sid: OPEN, attributes: { conference_moh: "group" } },
      })
    ).body;
    const did = await assignDid(h(), a, "15162069001");
    await h().json("PATCH", `/conference/v2/dids/${did.did_sid}`, {
      body: { did_group_sid: group.did_group_sid, attributes: { conference_entrytones: "off" } },
    });
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { attributes: { conference_entrytones: "on", conference_rollcall: "on" } },
      })
    ).body;

    const noDid = await h().json("GET", `/conference/v2/meeting_rooms/${room.meeting_room_sid}/resolved_attributes`);
    expect(noDid.status).toBe(200);
    expect(noDid.body).toMatchObject({
      meeting_room_sid: room.meeting_room_sid,
      did_sid: null,
      did_group_sid: null,
      reachable: true,
      call_flow: { call_flow_sid: SECURED, name: "secured", level: "account", sid: a.accountSid },
    });
    expect(noDid.body.attributes.conference_language).toEqual({ value: "DE", level: "account", sid: a.accountSid });
    expect(noDid.body.attributes.conference_moh).toEqual({ value: "acct", level: "account", sid: a.accountSid });
    expect(noDid.body.attributes.conference_rollcall).toEqual({ value: "on", level: "meeting_room", sid: room.meeting_room_sid });
    expect(noDid.body.attributes.conference_stop_wait).toEqual({ value: "180", level: "call_flow", sid: SECURED });
    expect(Object.keys(noDid.body.attributes)).toHaveLength(31);

    const viaDid = await h().json(
      "GET",
      `/conference/v2/meeting_rooms/${room.meeting_room_sid}/resolved_attributes?did_sid=${did.did_sid}`,
    );
    expect(viaDid.body.did_sid).toBe(did.did_sid);
    expect(viaDid.body.did_group_sid).toBe(group.did_group_sid);
    expect(viaDid.body.call_flow).toEqual({ call_flow_sid: OPEN, name: "open", level: "did_group", sid: group.did_group_sid });
    expect(viaDid.body.attributes.conference_moh).toEqual({ value: "group", level: "did_group", sid: group.did_group_sid });
    // The room overrides the DID.
    expect(viaDid.body.attributes.conference_entrytones).toEqual({
      value: "on",
      level: "meeting_room",
      sid: room.meeting_room_sid,
    });

    // A room bound to another group is not reachable through this DID.
    const other = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    await h().json("PATCH", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`, {
      body: { did_group_sid: other.did_group_sid },
    });
    const bound = await h().json(
      "GET",
      `/conference/v2/meeting_rooms/${room.meeting_room_sid}/resolved_attributes?did_sid=${did.did_sid}`,
    );
    expect(bound.body.reachable).toBe(false);

    // Without any call flow, calls are refused: no attributes.
    await h().json("PATCH", `/conference/v2/accounts/${a.accountSid}`, { body: { call_flow_sid: null } });
    const none = await h().json("GET", `/conference/v2/meeting_rooms/${room.meeting_room_sid}/resolved_attributes`);
    expect(none.body).toMatchObject({ call_flow: null, attributes: null, did_group_sid: other.did_group_sid });
    await h().json("PUT", `/conference/v2/accounts/${a.accountSid}`, {
      body: { name: "N/A", attributes: {}, call_flow_sid: DEFAULT_CALL_FLOW_SID },
    });

    const unknownDid = await h().json(
      "GET",
      `/conference/v2/meeting_rooms/${room.meeting_room_sid}/resolved_attributes?did_sid=00000000-0000-4000-8000-000000000000`,
    );
    expect(unknownDid.status).toBe(404);
    expect(unknownDid.body.errors[0].message).toBe("cannot find did");
  });
});
