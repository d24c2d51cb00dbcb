import { expect, test } from "bun:test";
import { ENDPOINT_FIELDS } from "@conf/db";
import { ADMIN_TOKEN, basicHeader, forEachDatabase } from "../../testing.ts";

const admin = `Bearer ${ADMIN_TOKEN}`;

forEachDatabase((h) => {
  test("POST /core/v2/endpoints (the reference's example) returns the endpoint shape with working credentials", async () => {
    const r = await h().json("POST", "/core/v2/endpoints", { auth: admin, body: '{"name":"my_conf", "type":"conference"}' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      addresses: [],
      attributes: {},
      capacity: 0,
      endpoint_sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "my_conf",
      out_sip_password: null,
      out_sip_username: null,
      partner_sid: expect.any(String),
      properties: {
        account_sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        api_url: "http://api.test/conference/v2",
        container_sid: "null",
        login: expect.any(String),
        password: expect.any(String),
      },
      transformations: [],
      type: "conference",
      voip_token: null,
    });
    const me = await h().json("GET", "/conference/v2/accounts/whoami", {
      auth: basicHeader(r.body.properties.login, r.body.properties.password),
    });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      account_sid: r.body.properties.account_sid,
      login: r.body.properties.login,
      name: "my_conf",
    });
  });

  test("list (filter type eq conference, exclude_fields=properties), get; the password is not returned again", async () => {
    const list = await h().json("GET", "/core/v2/endpoints?filter=type+eq+conference&limit=1000", { auth: admin });
    expect(list.status).toBe(200);
    expect(list.body.total).toBeGreaterThanOrEqual(2);
    expect(list.body.items.every((e: { type: string }) => e.type === "conference")).toBe(true);
    const ex = await h().json("GET", "/core/v2/endpoints?exclude_fields=properties", { auth: admin });
    expect(Object.keys(ex.body.items[0]).sort()).toEqual(ENDPOINT_FIELDS.filter((f) => f !== "properties"));
    const one = await h().json("GET", `/core/v2/endpoints/${h().a.endpointSid}`, { auth: admin });
    expect(one.body.properties).toEqual({
      account_sid: h().a.accountSid,
      api_url: "http://api.test/conference/v2",
      container_sid: "null",
      login: h().a.login,
      password: null,
    });
    const byLogin = await h().json("GET", `/core/v2/endpoints?filter=properties.login+eq+${h().b.login}`, { auth: admin });
    expect(byLogin.body.items.map((e: { endpoint_sid: string }) => e.endpoint_sid)).toEqual([h().b.endpointSid]);
    expect(
      (await h().json("GET", "/core/v2/endpoints/00000000-0000-4000-8000-000000000000", { auth: admin })).body.errors[0].message,
    ).toBe("cannot find endpoint");
  });

  test("422 for a bad endpoint body", async () => {
    const cases: [unknown, string][] = [
      [{}, "name"],
      [{ name: 5 }, "name"],
      [{ name: "x", type: "flexml" }, "type"],
      [{ name: "x", color: "red" }, "color"],
    ];
    for (const [body, field] of cases) {
      const r = await h().json("POST", "/core/v2/endpoints", { auth: admin, body });
      expect(r.status).toBe(422);
      expect(r.body.errors[0].field).toBe(field);
    }
  });

  test("DELETE an endpoint: 204, its credentials stop working at once, its objects are gone", async () => {
    const t = await h().tenant("to_delete");
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { auth: t.auth, body: { name: "r" } })).body;
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: t.auth })).status).toBe(200);
    const del = await h().request("DELETE", `/core/v2/endpoints/${t.endpointSid}`, { auth: admin });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: t.auth })).status).toBe(401);
    expect((await h().json("GET", `/core/v2/endpoints/${t.endpointSid}`, { auth: admin })).status).toBe(404);
    expect((await h().json("DELETE", `/core/v2/endpoints/${t.endpointSid}`, { auth: admin })).status).toBe(404);
    void room;
  });

  test("DIDs: assign (publishes an invalidation), 409 when taken, 422 when malformed, remove", async () => {
    h().bus.messages.length = 0;
    const r = await h().json("POST", "/core/v2/dids", {
      auth: admin,
      body: { phonenumber: "+1 (516) 206-5000", endpoint_sid: h().a.endpointSid },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ phonenumber: "15162065000", account_sid: h().a.accountSid, country_code: "USA" });
    expect(h().bus.messages).toEqual([
      { channel: "config:invalidate", message: { kind: "account", accountSid: h().a.accountSid } },
    ]);
    const dup = await h().json("POST", "/core/v2/dids", {
      auth: admin,
      body: { phonenumber: "15162065000", endpoint_sid: h().b.endpointSid },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.errors[0].field).toBe("phonenumber");
    const bad = await h().json("POST", "/core/v2/dids", {
      auth: admin,
      body: { phonenumber: "call me", endpoint_sid: h().a.endpointSid },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe("phonenumber");
    const noOwner = await h().json("POST", "/core/v2/dids", {
      auth: admin,
      body: { phonenumber: "15162065001", endpoint_sid: "00000000-0000-4000-8000-000000000000" },
    });
    expect(noOwner.status).toBe(422);
    const all = await h().json("GET", "/core/v2/dids?filter=phonenumber+eq+15162065000", { auth: admin });
    expect(all.body.items.map((d: { did_sid: string }) => d.did_sid)).toEqual([r.body.did_sid]);
    const del = await h().request("DELETE", `/core/v2/dids/${r.body.did_sid}`, { auth: admin });
    expect(del.status).toBe(204);
    expect((await h().json("GET", `/conference/v2/dids/${r.body.did_sid}`)).status).toBe(404);
    expect((await h().json("DELETE", `/core/v2/dids/${r.body.did_sid}`, { auth: admin })).status).toBe(404);
  });

  test("prefixes: add, 409 when taken, 422 when malformed, get, list, remove", async () => {
    const r = await h().json("POST", "/core/v2/prefixes", {
      auth: admin,
      body: { prefix: "7777", endpoint_sid: h().a.endpointSid },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ prefix: "7777", account_sid: h().a.accountSid, endpoint_sid: h().a.endpointSid });
    expect(
      (await h().json("POST", "/core/v2/prefixes", { auth: admin, body: { prefix: "7777", endpoint_sid: h().b.endpointSid } }))
        .status,
    ).toBe(409);
    const bad = await h().json("POST", "/core/v2/prefixes", {
      auth: admin,
      body: { prefix: "77a", endpoint_sid: h().a.endpointSid },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe("prefix");
    expect((await h().json("GET", `/core/v2/prefixes/${r.body.prefix_sid}`, { auth: admin })).body).toEqual(r.body);
    expect((await h().json("GET", "/core/v2/prefixes", { auth: admin })).body.items).toContainEqual(r.body);
    expect((await h().request("DELETE", `/core/v2/prefixes/${r.body.prefix_sid}`, { auth: admin })).status).toBe(204);
    expect((await h().json("GET", `/core/v2/prefixes/${r.body.prefix_sid}`, { auth: admin })).status).toBe(404);
  });
});
