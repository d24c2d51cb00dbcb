import { createApp } from "./app.ts";
import { expect, test } from "bun:test";
import { ADMIN_TOKEN, basicHeader, forEachDatabase } from "./testing.ts";

const UNAUTHORIZED = {
  message: "authentication required",
  errors: [{ field: "cause", message: "authentication required", reference_sid: null }],
};
const FORBIDDEN = {
  message: "permission denied",
  errors: [{ field: "cause", message: "permission denied", reference_sid: null }],
};
const BAD_JSON = { body: { message: "cannot parse json. Check json for validity", errors: null }, status: 400 };

forEachDatabase((h) => {
  test("401 without credentials, with the reference's body", async () => {
    const r = await h().json("GET", "/conference/v2/accounts", { auth: null });
    expect(r.status).toBe(401);
    expect(r.body).toEqual(UNAUTHORIZED);
  });

  test("401 for a wrong password, an unknown login, a malformed header and a bearer token", async () => {
    const { a } = h();
    for (const auth of [
      basicHeader(a.login, `${a.password}x`),
      basicHeader("nobody_here", a.password),
      "Basic !!!notbase64",
      `Basic ${Buffer.from("no-colon").toString("base64")}`,
      `Bearer ${ADMIN_TOKEN}`,
    ]) {
      const r = await h().json("GET", "/conference/v2/accounts/whoami", { auth });
      expect(r.status).toBe(401);
      expect(r.body).toEqual(UNAUTHORIZED);
    }
  });

  test("operator routes: 401 without or with a wrong token, 403 with an account's credentials", async () => {
    expect((await h().json("GET", "/core/v2/endpoints", { auth: null })).body).toEqual(UNAUTHORIZED);
    const wrong = await h().json("GET", "/core/v2/endpoints", { auth: "Bearer wrong-token-000000000000" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(UNAUTHORIZED);
    const basic = await h().json("GET", "/core/v2/endpoints", { auth: h().a.auth });
    expect(basic.status).toBe(403);
    expect(basic.body).toEqual(FORBIDDEN);
  });

  test("400 for unparsable JSON, exactly as the reference", async () => {
    for (const body of ["{bad", "", '{"name":', "nul"]) {
      const r = await h().json("POST", "/conference/v2/did_groups", { body, headers: { "Content-Type": "application/json" } });
      expect(r.status).toBe(400);
      expect(r.body).toEqual(BAD_JSON);
    }
  });

  test("415 for a body that is not declared as JSON", async () => {
    for (const headers of [{ "Content-Type": "text/plain" }, { "Content-Type": "application/x-www-form-urlencoded" }]) {
      const r = await h().json("POST", "/conference/v2/did_groups", { body: "{}", headers });
      expect(r.status).toBe(415);
      expect(r.body.message).toBe("unsupported media type");
      expect(r.body.errors[0].field).toBe("Content-Type");
    }
    // A body without any Content-Type is not JSON either.
    const res = await h().app.request("http://api.test/conference/v2/did_groups", {
      method: "POST",
      headers: { Authorization: h().a.auth },
      body: new Blob(['{"name":"x"}']).stream(),
    });
    expect(res.status).toBe(415);
  });

  test("an empty body without Content-Type is an empty object; application/*+json and charset are JSON", async () => {
    const empty = await h().json("POST", "/conference/v2/did_groups");
    expect(empty.status).toBe(200);
    expect(empty.body.name).toBe("N/A");
    const charset = await h().json("POST", "/conference/v2/did_groups", {
      body: '{"name":"utf"}',
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(charset.status).toBe(200);
    expect(charset.body.name).toBe("utf");
    const vendor = await h().json("POST", "/conference/v2/did_groups", {
      body: '{"name":"vnd"}',
      headers: { "Content-Type": "application/vnd.api+json" },
    });
    expect(vendor.status).toBe(200);
  });

  test("422 for a body that is JSON but not an object", async () => {
    for (const body of ["[]", '"text"', "42", "null"]) {
      const r = await h().json("POST", "/conference/v2/did_groups", { body });
      expect(r.status).toBe(422);
      expect(r.body).toEqual({
        message: "object validation error",
        errors: [{ field: null, message: "the body must be a JSON object", reference_sid: null }],
      });
    }
  });

  test("404 for an unknown route, with the reference's envelope", async () => {
    const r = await h().json("GET", "/conference/v2/nothing_here");
    expect(r.status).toBe(404);
    expect(r.body.message).toBe("no item error");
    expect(r.body.errors[0].field).toBeNull();
    const root = await h().json("GET", "/unknown", { auth: null });
    expect(root.status).toBe(404);
    expect(root.body.message).toBe("no item error");
    // A method the object does not have is an unknown route too, whatever the body.
    expect((await h().json("DELETE", "/conference/v2/accounts/whoami")).status).toBe(404);
    expect((await h().json("POST", "/conference/v2/accounts", { body: "{bad" })).status).toBe(404);
    expect(
      (await h().json("PUT", "/conference/v2/nothing", { body: "x", headers: { "Content-Type": "text/plain" } })).status,
    ).toBe(404);
  });

  test("CORS headers as the reference's sample, on success and on errors", async () => {
    const expose =
      "Access-Control-Allow-Origin,Access-Control-Allow-Methods,Access-Control-Allow-Credentials,Content-Disposition,Access-Control-Allow-Headers";
    for (const auth of [h().a.auth, null]) {
      const res = await h().request("GET", "/conference/v2/accounts", { auth, headers: { Origin: "https://example.org" } });
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-expose-headers")).toBe(expose);
      expect(res.headers.get("content-type")).toStartWith("application/json");
    }
  });

  test("CORS preflight answers 204 without credentials", async () => {
    const res = await h().request("OPTIONS", "/conference/v2/meeting_rooms", {
      auth: null,
      headers: {
        Origin: "https://example.org",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(await res.text()).toBe("");
  });

  test("the OpenAPI document lists every route and the docs page is served", async () => {
    const doc = await h().json("GET", "/conference/v2/openapi.json", { auth: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    const paths = Object.keys(doc.body.paths).sort();
    for (const p of [
      "/conference/v2/accounts",
      "/conference/v2/accounts/whoami",
      "/conference/v2/accounts/{account_sid}",
      "/conference/v2/call_flows",
      "/conference/v2/call_flows/{call_flow_sid}",
      "/conference/v2/dids",
      "/conference/v2/dids/{did_sid}",
      "/conference/v2/did_groups",
      "/conference/v2/did_groups/{did_group_sid}",
      "/conference/v2/meeting_rooms",
      "/conference/v2/meeting_rooms/{meeting_room_sid}",
      "/conference/v2/meeting_rooms/{meeting_room_sid}/resolved_attributes",
      "/conference/v2/calls",
      "/conference/v2/calls/{call_sid}",
      "/conference/v2/meetings",
      "/conference/v2/meetings/{meeting_sid}",
      "/core/v2/endpoints",
      "/core/v2/endpoints/{endpoint_sid}",
      "/core/v2/dids",
      "/core/v2/dids/{did_sid}",
      "/core/v2/prefixes",
      "/core/v2/prefixes/{prefix_sid}",
    ]) {
      expect(paths).toContain(p);
    }
    expect(Object.keys(doc.body.paths["/conference/v2/meeting_rooms/{meeting_room_sid}"]).sort()).toEqual([
      "delete",
      "get",
      "patch",
      "put",
    ]);
    expect(doc.body.components.schemas.MeetingRoom).toBeDefined();
    expect(doc.body.components.schemas.AttributesInput.properties.conference_language).toBeDefined();
    const page = await h().request("GET", "/docs", { auth: null });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/conference/v2/openapi.json");
  });

  test("the docs page needs nothing from the internet: its script comes from this server, and no web fonts", async () => {
    const html = await (await h().request("GET", "/docs", { auth: null })).text();
    const sources = [...html.matchAll(/<(?:script|link)[^>]*(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(["/docs/scalar.js"]);
    expect(html).not.toContain("fonts.scalar.com");
    expect(html).not.toContain("cdn.jsdelivr.net");
    const script = await h().request("GET", "/docs/scalar.js", { auth: null });
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    const text = await script.text();
    expect(text.length).toBeGreaterThan(100_000);
    expect(text).toContain("createApiReference");
  });

  test("the OpenAPI document: built once per origin, servers naming the request's origin, as JSON", async () => {
    const first = await h().request("GET", "/conference/v2/openapi.json", { auth: null });
    expect(first.headers.get("content-type")).toBe("application/json");
    const body = await first.text();
    expect(JSON.parse(body).servers).toEqual([{ url: "http://api.test" }]);
    expect(await (await h().request("GET", "/conference/v2/openapi.json", { auth: null })).text()).toBe(body);
    const other = await h().app.request("http://other.example:8080/conference/v2/openapi.json");
    const otherDoc = (await other.json()) as { servers: unknown };
    expect(otherDoc.servers).toEqual([{ url: "http://other.example:8080" }]);
    expect({ ...otherDoc, servers: [] }).toEqual({ ...JSON.parse(body), servers: [] });
  });

  test("a flood of Host values never rebuilds the OpenAPI document (each build cost ~11 ms)", async () => {
    const app = createApp({ database: h().testDb.database, adminToken: ADMIN_TOKEN });
    let builds = 0;
    const build = app.getOpenAPI31Document.bind(app);
    app.getOpenAPI31Document = ((...args: Parameters<typeof build>) => {
      builds++;
      return build(...args);
    }) as typeof build;
    for (let i = 0; i < 40; i++) {
      const origin = `http://host-${i}.example`;
      const doc = (await (await app.request(`${origin}/conference/v2/openapi.json`)).json()) as {
        servers: unknown;
        paths: object;
      };
      expect(doc.servers).toEqual([{ url: origin }]);
      expect(Object.keys(doc.paths).length).toBeGreaterThan(10);
    }
    expect(builds).toBeLessThanOrEqual(1);
  });

  test("every config write publishes one invalidation for its account; reads publish none", async () => {
    const { a, bus } = h();
    const inv = { channel: "config:invalidate", message: { kind: "account", accountSid: a.accountSid } };
    const group = (await h().json("POST", "/conference/v2/did_groups", { body: {} })).body;
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { body: {} })).body;
    const did = (
      await h().json("POST", "/core/v2/dids", {
        auth: `Bearer ${ADMIN_TOKEN}`,
        body: { phonenumber: "15550001111", endpoint_sid: a.endpointSid },
      })
    ).body;
    const writes: [string, string, unknown?][] = [
      ["PATCH", `/conference/v2/accounts/${a.accountSid}`, { name: "x" }],
      ["PUT", `/conference/v2/accounts/${a.accountSid}`, { name: "x", attributes: {}, call_flow_sid: null }],
      ["PATCH", `/conference/v2/dids/${did.did_sid}`, { call_flow_sid: null }],
      ["PUT", `/conference/v2/dids/${did.did_sid}`, { attributes: {}, call_flow_sid: null, did_group_sid: null }],
      ["PATCH", `/conference/v2/did_groups/${group.did_group_sid}`, { name: "y" }],
      ["PUT", `/conference/v2/did_groups/${group.did_group_sid}`, { name: "y", attributes: {}, call_flow_sid: null }],
      ["PATCH", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`, { name: "z" }],
      [
        "PUT",
        `/conference/v2/meeting_rooms/${room.meeting_room_sid}`,
        { name: "z", attributes: {}, did_group_sid: null, access_codes: [] },
      ],
      ["DELETE", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`],
      ["DELETE", `/conference/v2/did_groups/${group.did_group_sid}`],
    ];
    for (const [method, path, body] of writes) {
      bus.messages.length = 0;
      const r = await h().request(method, path, body === undefined ? {} : { body });
      expect(r.status).toBeLessThan(300);
      expect(bus.messages).toEqual([inv]);
    }
    bus.messages.length = 0;
    await h().request("GET", "/conference/v2/meeting_rooms");
    await h().request("GET", `/conference/v2/dids/${did.did_sid}`);
    // A refused write changes nothing and publishes nothing.
    await h().request("PATCH", `/conference/v2/dids/${did.did_sid}`, { body: { call_flow_sid: 5 } });
    expect(bus.messages).toEqual([]);
  });

  test("per-request auth is cached: after the first request no argon2id verification is paid", async () => {
    const t = await h().tenant("timing");
    const path = "/conference/v2/call_flows/00000000-0000-4000-8000-000000000000";
    const t0 = performance.now();
    expect((await h().request("GET", path, { auth: t.auth })).status).toBe(404);
    const first = performance.now() - t0;
    const n = 20;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) expect((await h().request("GET", path, { auth: t.auth })).status).toBe(404);
    const cached = (performance.now() - t1) / n;
    // The first request verifies argon2id (tens of ms by design); the cached ones are
    // the same request without it. The cache's own cost is measured in auth.test.ts.
    expect(cached * 3).toBeLessThan(first);
  });
});

forEachDatabase((h) => {
  test("every documented route: 401 without credentials; operator routes 403 with an account's", async () => {
    const doc = (await h().json("GET", "/conference/v2/openapi.json", { auth: null })).body;
    let checked = 0;
    for (const [template, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      const path = template.replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000001");
      for (const method of Object.keys(ops)) {
        const body = ["post", "put", "patch"].includes(method) ? {} : undefined;
        const anon = await h().json(method.toUpperCase(), path, { auth: null, body });
        expect([template, method, anon.status]).toEqual([template, method, 401]);
        expect(anon.body).toEqual(UNAUTHORIZED);
        if (template.startsWith("/core/")) {
          const basic = await h().json(method.toUpperCase(), path, { auth: h().a.auth, body });
          expect([template, method, basic.status]).toEqual([template, method, 403]);
        } else {
          const bearer = await h().json(method.toUpperCase(), path, { auth: `Bearer ${ADMIN_TOKEN}`, body });
          expect([template, method, bearer.status]).toEqual([template, method, 401]);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(40);
  });
});
