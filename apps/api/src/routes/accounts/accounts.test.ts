import { expect, test } from "bun:test";
import { DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import { accountsRepo } from "@conf/db";
import { basicHeader, forEachDatabase } from "../../testing.ts";

const OPEN_FLOW = "fb2b69b1-6998-4cdc-b04c-a267c585f767";
const MISSING = "00000000-0000-4000-8000-00000000abcd";

forEachDatabase((h) => {
  const path = () => `/conference/v2/accounts/${h().a.accountSid}`;

  test("list: the account sees exactly itself, in the reference's envelope", async () => {
    const r = await h().json("GET", "/conference/v2/accounts");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      count: 1,
      has_more: false,
      items: [
        {
          account_sid: h().a.accountSid,
          attributes: {},
          call_flow_sid: DEFAULT_CALL_FLOW_SID,
          date_created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          login: h().a.login,
          name: "tenant_a",
        },
      ],
      limit: 10,
      offset: 0,
      pagination: {},
      total: 1,
    });
    const other = await h().json("GET", "/conference/v2/accounts", { auth: h().b.auth });
    expect(other.body.items.map((a: { account_sid: string }) => a.account_sid)).toEqual([h().b.accountSid]);
  });

  test("get by SID and whoami return the same object; password never appears", async () => {
    const byId = await h().json("GET", path());
    const me = await h().json("GET", "/conference/v2/accounts/whoami");
    expect(byId.status).toBe(200);
    expect(me.body).toEqual(byId.body);
    expect(Object.keys(me.body).sort()).toEqual(["account_sid", "attributes", "call_flow_sid", "date_created", "login", "name"]);
  });

  test("another account's SID, a missing SID and a non-UUID are all the same 404", async () => {
    const expected = { message: "no item error", errors: [{ field: null, message: "cannot find account", reference_sid: null }] };
    for (const sid of [h().b.accountSid, MISSING, "not-a-uuid"]) {
      for (const method of ["GET", "PATCH", "PUT"]) {
        const body = method === "PUT" ? { name: "x", attributes: {}, call_flow_sid: null } : { name: "x" };
        const r = await h().json(method, `/conference/v2/accounts/${sid}`, method === "GET" ? {} : { body });
        expect(r.status).toBe(404);
        expect(r.body).toEqual(expected);
      }
    }
    // Nothing of the other account changed.
    const b = await h().json("GET", "/conference/v2/accounts/whoami", { auth: h().b.auth });
    expect(b.body.name).toBe("tenant_b");
  });

  test("field filtering on get, whoami and list", async () => {
    expect((await h().json("GET", `${path()}?include_fields=name,login`)).body).toEqual({ login: h().a.login, name: "tenant_a" });
    const ex = await h().json("GET", "/conference/v2/accounts/whoami?exclude_fields=attributes,date_created");
    expect(Object.keys(ex.body).sort()).toEqual(["account_sid", "call_flow_sid", "login", "name"]);
    const list = await h().json("GET", "/conference/v2/accounts?include_fields=account_sid");
    expect(list.body.items).toEqual([{ account_sid: h().a.accountSid }]);
    const bad = await h().json("GET", `${path()}?include_fields=password`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("include_fields");
  });

  test("PATCH name (the reference's example) and an invalidation is published", async () => {
    h().bus.messages.length = 0;
    const r = await h().json("PATCH", path(), { body: { name: "John W. Smith" } });
    expect(r.status).toBe(200);
    expect(r.body.name).toBe("John W. Smith");
    expect(r.body.call_flow_sid).toBe(DEFAULT_CALL_FLOW_SID);
    expect(h().bus.messages).toEqual([
      { channel: "config:invalidate", message: { kind: "account", accountSid: h().a.accountSid } },
    ]);
  });

  test("PATCH attributes: the four rules", async () => {
    const p = path();
    let r = await h().json("PATCH", p, { body: { attributes: { conference_language: "EN", conference_entrytones: "off" } } });
    expect(r.body.attributes).toEqual({ conference_entrytones: "off", conference_language: "EN" });
    // 1: an existing key is replaced, the others stay.
    r = await h().json("PATCH", p, { body: { attributes: { conference_language: "DE" } } });
    expect(r.body.attributes).toEqual({ conference_entrytones: "off", conference_language: "DE" });
    // 2: a new key is added.
    r = await h().json("PATCH", p, { body: { attributes: { conference_exittones: "off" } } });
    expect(r.body.attributes).toEqual({ conference_entrytones: "off", conference_exittones: "off", conference_language: "DE" });
    // 3: null removes a key.
    r = await h().json("PATCH", p, { body: { attributes: { conference_entrytones: null } } });
    expect(r.body.attributes).toEqual({ conference_exittones: "off", conference_language: "DE" });
    // 4: nested_objects=replace replaces the whole object.
    r = await h().json("PATCH", `${p}?nested_objects=replace`, { body: { attributes: { conference_start_wait: "60" } } });
    expect(r.status).toBe(200);
    expect(r.body.attributes).toEqual({ conference_start_wait: "60" });
    // Other fields untouched by attribute patches.
    expect(r.body.name).toBe("John W. Smith");
    const bad = await h().json("PATCH", `${p}?nested_objects=swap`, { body: { attributes: {} } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("nested_objects");
  });

  test("PATCH attributes with an unknown key or a bad value is a 422 naming attributes.<key>", async () => {
    const unknown = await h().json("PATCH", path(), { body: { attributes: { conference_colour: "red" } } });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toEqual({
      message: "object validation error",
      errors: [{ field: "attributes.conference_colour", message: "unknown attribute", reference_sid: null }],
    });
    const value = await h().json("PATCH", path(), { body: { attributes: { conference_entrytones: "loud" } } });
    expect(value.status).toBe(422);
    expect(value.body.errors).toEqual([
      { field: "attributes.conference_entrytones", message: "must be on or off", reference_sid: null },
    ]);
    const type = await h().json("PATCH", path(), { body: { attributes: { conference_start_wait: 60 } } });
    expect(type.status).toBe(422);
    expect(type.body.errors[0].field).toBe("attributes.conference_start_wait");
  });

  test("PATCH call_flow_sid: a known flow, null, and an unknown one (422)", async () => {
    let r = await h().json("PATCH", path(), { body: { call_flow_sid: OPEN_FLOW } });
    expect(r.body.call_flow_sid).toBe(OPEN_FLOW);
    r = await h().json("PATCH", path(), { body: { call_flow_sid: null } });
    expect(r.status).toBe(200);
    expect(r.body.call_flow_sid).toBeNull();
    r = await h().json("PATCH", path(), { body: { call_flow_sid: MISSING } });
    expect(r.status).toBe(422);
    expect(r.body.errors[0].field).toBe("call_flow_sid");
    r = await h().json("PATCH", path(), { body: { call_flow_sid: 5 } });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([{ field: "call_flow_sid", message: "must be a string or null", reference_sid: null }]);
  });

  test("unknown fields, wrong types and bad attribute values: one 422 naming each field", async () => {
    const r = await h().json("PATCH", path(), {
      body: { name: 42, nickname: "x", attributes: { conference_entrytones: "loud", conference_start_wait: "soon" } },
    });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([
      { field: "name", message: "must be a string", reference_sid: null },
      { field: "attributes.conference_entrytones", message: "must be on or off", reference_sid: null },
      { field: "attributes.conference_start_wait", message: "must be a whole number of seconds", reference_sid: null },
      { field: "nickname", message: "unknown field", reference_sid: null },
    ]);
  });

  test("read-only fields: accepted with their current value, 422 with another", async () => {
    const current = (await h().json("GET", path())).body;
    const same = await h().json("PATCH", path(), {
      body: { login: current.login, account_sid: current.account_sid, name: "Same" },
    });
    expect(same.status).toBe(200);
    expect(same.body.name).toBe("Same");
    for (const [field, value] of [
      ["login", "someone_else"],
      ["account_sid", MISSING],
      ["date_created", "2021-02-25T20:36:54.000Z"],
    ] as const) {
      const r = await h().json("PATCH", path(), { body: { [field]: value } });
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual([{ field, message: "field is read only and cannot be changed", reference_sid: null }]);
    }
  });

  test("PUT: GET, edit, PUT round-trips; a reset written out in full", async () => {
    const current = (await h().json("GET", path())).body;
    const edited = { ...current, name: "Round Trip", attributes: { conference_language: "FR" }, call_flow_sid: OPEN_FLOW };
    const put = await h().json("PUT", path(), { body: edited });
    expect(put.status).toBe(200);
    expect(put.body).toEqual(edited);
    const reset = await h().json("PUT", path(), { body: { name: "N/A", attributes: {}, call_flow_sid: DEFAULT_CALL_FLOW_SID } });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ ...current, name: "N/A", attributes: {}, call_flow_sid: DEFAULT_CALL_FLOW_SID });
    const ro = await h().json("PUT", path(), { body: { ...current, login: "changed" } });
    expect(ro.status).toBe(422);
    expect(ro.body.errors[0].field).toBe("login");
  });

  test("PUT requires the entire object (the password, never returned, excepted): each missing field is a 422 entry, and nothing changes", async () => {
    await h().json("PATCH", path(), {
      body: { name: "Whole", attributes: { conference_moh: "jazz" }, call_flow_sid: OPEN_FLOW },
    });
    const before = (await h().json("GET", path())).body;
    const required = (field: string) => ({ field, message: "field is required", reference_sid: null });
    const cases: [unknown, unknown[]][] = [
      [{ name: "x" }, [required("call_flow_sid"), required("attributes")]],
      [{}, [required("name"), required("call_flow_sid"), required("attributes")]],
      [{ password: "a-new-password-456", attributes: {}, call_flow_sid: null }, [required("name")]],
      [{ login: before.login, account_sid: before.account_sid, name: "y", call_flow_sid: null }, [required("attributes")]],
    ];
    for (const [body, errors] of cases) {
      const r = await h().json("PUT", path(), { body });
      expect([body, r.status, r.body]).toEqual([body, 422, { message: "object validation error", errors }]);
    }
    expect((await h().request("PUT", path())).status).toBe(422);
    expect((await h().json("GET", path())).body).toEqual(before);
    // The old password still works: the refused PUT carrying a new one changed nothing.
    expect((await h().json("GET", "/conference/v2/accounts/whoami")).status).toBe(200);
  });

  test("ordinary writes keep cached logins (no argon2id cost after every write)", async () => {
    const t = await h().tenant("cache_tenant");
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: t.auth })).status).toBe(200);
    // Change the password behind the API's back: only the cache still knows the old one.
    await accountsRepo(h().testDb.database.db).update(t.accountSid, { password: "behind-the-back-1" });
    const r = await h().json("PATCH", `/conference/v2/accounts/${t.accountSid}`, {
      auth: t.auth,
      body: { name: "still cached" },
    });
    expect(r.status).toBe(200);
    expect(h().bus.messages.at(-1)?.message).toEqual({ kind: "account", accountSid: t.accountSid });
    expect((await h().json("POST", "/conference/v2/meeting_rooms", { auth: t.auth, body: {} })).status).toBe(200);
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: t.auth })).status).toBe(200);
  });

  test("password change: the old password stops working at once, the new one works", async () => {
    const t = await h().tenant("pw_tenant");
    // Warm the credential cache with the old password.
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: t.auth })).status).toBe(200);
    const short = await h().json("PATCH", `/conference/v2/accounts/${t.accountSid}`, {
      auth: t.auth,
      body: { password: "short" },
    });
    expect(short.status).toBe(422);
    expect(short.body.errors[0].field).toBe("password");
    const r = await h().json("PATCH", `/conference/v2/accounts/${t.accountSid}`, {
      auth: t.auth,
      body: { password: "a-new-password-123" },
    });
    expect(r.status).toBe(200);
    expect(r.body.password).toBeUndefined();
    expect(h().bus.messages.at(-1)).toEqual({
      channel: "config:invalidate",
      message: { kind: "account", accountSid: t.accountSid, credentials: true },
    });
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: t.auth })).status).toBe(401);
    const fresh = basicHeader(t.login, "a-new-password-123");
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: fresh })).status).toBe(200);
    // PUT without a password keeps it.
    const whole = (await h().json("GET", "/conference/v2/accounts/whoami", { auth: fresh })).body;
    expect((await h().json("PUT", `/conference/v2/accounts/${t.accountSid}`, { auth: fresh, body: whole })).status).toBe(200);
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: fresh })).status).toBe(200);
  });
});
