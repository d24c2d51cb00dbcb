/**
 * Hostile input through the whole app (in-process): each case was a 500 or an
 * unbounded cost before, and now gets a bounded 4xx in the reference's shape.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createRepositories } from "@conf/db";
import { parseOutboundPolicy } from "@conf/outbound";
import { DrizzleQueryError } from "drizzle-orm";
import { createApp } from "./app.ts";
import { ADMIN_TOKEN, assignDid, basicHeader, blockDatabase, forEachLivePlane } from "./testing.ts";

const CONTROL = "must not contain control characters";
const SURROGATE = "must be valid Unicode text (no lone surrogates)";
const invalid = (field: string | null, message: string) => ({
  message: "object validation error",
  errors: [{ field, message, reference_sid: null }],
});
const bad = (field: string | null, message: string) => ({
  message: "bad request",
  errors: [{ field, message, reference_sid: null }],
});

forEachLivePlane((h) => {
  let callSid = "";

  beforeAll(async () => {
    await assignDid(h(), h().a, "15162065901");
    await h().json("POST", "/conference/v2/meeting_rooms", {
      body: { name: "Sec", access_codes: [{ access_code: "901901", role: "host" }] },
    });
    callSid = (await h().dialIn("15162065901", "901901", { name: "a".repeat(255) })).call.call_sid;
  }, 60_000);

  // A: a backtracking like took 8.9 s on this call.
  test("like on a 255-character call name with an adversarial pattern answers at once", async () => {
    const start = performance.now();
    const r = await h().json("GET", `/conference/v2/calls?filter=${encodeURIComponent('name like "%a%a%a%a%a%a%a%b"')}`);
    expect(r.status).toBe(200);
    expect(r.body.count).toBe(0);
    expect(performance.now() - start).toBeLessThan(2000);
    const hit = await h().json("GET", `/conference/v2/calls?filter=${encodeURIComponent('name like "%a%a%a%a%a%a%a%a"')}`);
    expect(hit.body.items.map((c: { call_sid: string }) => c.call_sid)).toEqual([callSid]);
  });

  test("a like pattern over the limit is a 400 naming the filter", async () => {
    const r = await h().json("GET", `/conference/v2/calls?filter=${encodeURIComponent(`name like "${"%".repeat(257)}"`)}`);
    expect(r).toMatchObject({ status: 400, body: bad("filter", 'the like pattern of "name" is longer than 256 characters') });
  });

  // B: `date_created like "%"` was a 500 (text ~~ timestamptz) on config lists.
  test("like on a date matches its ISO text, on config and live lists", async () => {
    for (const path of ["/conference/v2/accounts", "/conference/v2/calls"]) {
      const all = await h().json("GET", `${path}?filter=${encodeURIComponent('date_created like "%"')}`);
      expect(all.status).toBe(200);
      expect(all.body.count).toBe(1);
      const year = new Date().getUTCFullYear();
      expect((await h().json("GET", `${path}?filter=${encodeURIComponent(`date_created like "${year}-%Z"`)}`)).body.count).toBe(
        1,
      );
      expect((await h().json("GET", `${path}?filter=${encodeURIComponent('date_created like "1999%"')}`)).body.count).toBe(0);
    }
  });

  // C: a NUL reached Postgres (500, and the log printed the query's parameters); a lone
  // surrogate reached Redis' cjson (500).
  test("a NUL or control character in any body string is a 422 naming the field", async () => {
    const cases: { method: string; path: () => string; body: unknown; field: string | null; message: string }[] = [
      { method: "POST", path: () => "/conference/v2/meeting_rooms", body: { name: "a\u0000b" }, field: "name", message: CONTROL },
      {
        method: "POST",
        path: () => "/conference/v2/meeting_rooms",
        body: { name: "line\r\nbreak" },
        field: "name",
        message: CONTROL,
      },
      {
        method: "POST",
        path: () => "/conference/v2/meeting_rooms",
        body: { access_codes: [{ access_code: "12\u00003", role: "host" }] },
        field: "access_codes[0].access_code",
        message: CONTROL,
      },
      {
        method: "POST",
        path: () => "/conference/v2/meeting_rooms",
        body: { attributes: { "x\u0000": "1" } },
        field: "attributes",
        message: `a key ${CONTROL}`,
      },
      {
        method: "PATCH",
        path: () => `/conference/v2/calls/${callSid}`,
        body: { name: "\u0000" },
        field: "name",
        message: CONTROL,
      },
      { method: "PATCH", path: () => "/conference/v2/accounts/own", body: { name: "x\u007f" }, field: "name", message: CONTROL },
    ];
    for (const c of cases) {
      const r = await h().json(c.method, c.path(), { body: c.body });
      expect({ case: c.body, status: r.status, body: r.body }).toEqual({
        case: c.body,
        status: 422,
        body: invalid(c.field, c.message),
      });
    }
    const core = await h().json("POST", "/core/v2/endpoints", {
      auth: `Bearer ${ADMIN_TOKEN}`,
      body: { name: "n\u0000", type: "conference" },
    });
    expect(core).toMatchObject({ status: 422, body: invalid("name", CONTROL) });
  });

  test("a lone surrogate in a call name (or any body string) is a 422, not a Redis error", async () => {
    for (const raw of ['{"name":"\\ud800"}', '{"name":"x\\udfffy"}']) {
      const r = await h().json("PATCH", `/conference/v2/calls/${callSid}`, { body: raw });
      expect(r).toMatchObject({ status: 422, body: invalid("name", SURROGATE) });
    }
    const room = await h().json("POST", "/conference/v2/meeting_rooms", { body: '{"name":"\\udc00"}' });
    expect(room).toMatchObject({ status: 422, body: invalid("name", SURROGATE) });
    // A proper pair is text like any other.
    expect((await h().json("PATCH", `/conference/v2/calls/${callSid}`, { body: '{"name":"\\ud83d\\ude00"}' })).status).toBe(200);
  });

  test("a NUL in a Basic login or password is the usual 401, not a 500", async () => {
    for (const auth of [basicHeader("a\u0000b", "x"), basicHeader(h().a.login, "pw\u0000")]) {
      const r = await h().json("GET", "/conference/v2/accounts", { auth });
      expect(r).toMatchObject({ status: 401, body: { message: "authentication required" } });
    }
  });

  test("a control character in the query or the path is a 400 naming where", async () => {
    const q = await h().json("GET", "/conference/v2/meeting_rooms?filter=name%20eq%20%00");
    expect(q).toMatchObject({ status: 400, body: bad("filter", CONTROL) });
    const name = await h().json("GET", "/conference/v2/meeting_rooms?a%0Ab=1");
    expect(name).toMatchObject({ status: 400, body: bad(null, `a query parameter name ${CONTROL}`) });
    const path = await h().json("GET", "/conference/v2/meeting_rooms/abc%00def");
    expect(path).toMatchObject({ status: 400, body: bad("path", CONTROL) });
  });
  // D: 677 wrong passwords in 10 s went through.
  test("failed logins: the attacker's address is refused with 429 + Retry-After, the owner's is not", async () => {
    const tenant = await h().tenant(`victim_${crypto.randomUUID().slice(0, 8)}`);
    const attacker = "127.0.0.66";
    const owner = "127.0.0.10";
    for (let i = 0; i < 5; i++) {
      const r = await h().json("GET", "/conference/v2/accounts/whoami", {
        auth: basicHeader(tenant.login, `guess-${i}`),
        address: attacker,
      });
      expect(r.status).toBe(401);
    }
    const refused = await h().json("GET", "/conference/v2/accounts/whoami", { auth: tenant.auth, address: attacker });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      message: "too many requests",
      errors: [
        {
          field: "cause",
          message: expect.stringMatching(/^too many failed logins; retry after \d+ seconds$/),
          reference_sid: null,
        },
      ],
    });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(300);
    // The owner, from its own address: a wrong password is the usual 401, the right one works.
    expect(
      (await h().json("GET", "/conference/v2/accounts/whoami", { auth: basicHeader(tenant.login, "typo"), address: owner }))
        .status,
    ).toBe(401);
    expect((await h().json("GET", "/conference/v2/accounts/whoami", { auth: tenant.auth, address: owner })).status).toBe(200);
    // Each wrong password costs an argon2id check: tens of them outlast 5 s on a loaded machine.
  }, 30_000);

  test("a client's first burst of parallel requests with the right login is one attempt, not refused", async () => {
    const tenant = await h().tenant(`burst_${crypto.randomUUID().slice(0, 8)}`);
    const statuses = await Promise.all(
      Array.from(
        { length: 20 },
        async () =>
          (await h().json("GET", "/conference/v2/accounts/whoami", { auth: tenant.auth, address: "127.0.0.55" })).status,
      ),
    );
    expect(statuses).toEqual(Array(20).fill(200));
  });

  test("parallel guesses of different passwords are each counted", async () => {
    const tenant = await h().tenant(`guesses_${crypto.randomUUID().slice(0, 8)}`);
    const statuses = await Promise.all(
      Array.from(
        { length: 12 },
        async (_, i) =>
          (
            await h().json("GET", "/conference/v2/accounts/whoami", {
              auth: basicHeader(tenant.login, `guess-${i}`),
              address: "127.0.0.56",
            })
          ).status,
      ),
    );
    expect(statuses.filter((s) => s === 401).length).toBe(5);
    expect(statuses.filter((s) => s === 429).length).toBe(7);
    // Each wrong password costs an argon2id check: tens of them outlast 5 s on a loaded machine.
  }, 30_000);

  test("one address spraying many logins is refused for all of them", async () => {
    const sprayer = "127.0.0.77";
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      statuses.push(
        (await h().json("GET", "/conference/v2/accounts/whoami", { auth: basicHeader(`nobody${i}`, "pw"), address: sprayer }))
          .status,
      );
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
    expect(
      (await h().json("GET", "/conference/v2/accounts/whoami", { auth: basicHeader("nobody0", "pw"), address: "127.0.0.78" }))
        .status,
    ).toBe(401);
    // Each wrong password costs an argon2id check: tens of them outlast 5 s on a loaded machine.
  }, 30_000);

  // E: recording_addr=x@127.0.0.1:PORT made the mixer send INVITEs to any internal host.
  test("recording_addr naming an internal host is a 422 on every route that takes attributes", async () => {
    const did = await assignDid(h(), h().a, "15162065902");
    const group = (await h().json("POST", "/conference/v2/did_groups", { body: { name: "g" } })).body;
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "r" } })).body;
    const routes: [string, string][] = [
      ["PATCH", `/conference/v2/accounts/${h().a.accountSid}`],
      ["PUT", `/conference/v2/accounts/${h().a.accountSid}`],
      ["POST", "/conference/v2/did_groups"],
      ["PATCH", `/conference/v2/did_groups/${group.did_group_sid}`],
      ["PUT", `/conference/v2/did_groups/${group.did_group_sid}`],
      ["PATCH", `/conference/v2/dids/${did.did_sid}`],
      ["PUT", `/conference/v2/dids/${did.did_sid}`],
      ["POST", "/conference/v2/meeting_rooms"],
      ["PATCH", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`],
      ["PUT", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`],
    ];
    const refused: [string, string][] = [
      ["x@127.0.0.1:5099", "names a loopback address"],
      ["sip:x@localhost:5060", "names a loopback address"],
      ["x@2130706433", "names a loopback address"],
      ["x@127.1", "names a loopback address"],
      ["x@10.1.10.190", "names a private address"],
      ["x@169.254.169.254", "names a link-local address"],
      ["x@100.64.0.1", "names a shared (CGNAT) address"],
      ["x@192.168.7.7", "names a private address"],
    ];
    for (const [method, path] of routes) {
      for (const [addr, why] of refused) {
        const r = await h().json(method, path, { body: { name: "n", attributes: { recording_addr: addr } } });
        expect({ method, path, addr, status: r.status, body: r.body }).toEqual({
          method,
          path,
          addr,
          status: 422,
          body: invalid("attributes.recording_addr", `${why}, which this service does not send to`),
        });
      }
    }
    // A public address is stored as before.
    const ok = await h().json("PATCH", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`, {
      body: { attributes: { recording_addr: "rec@8.8.4.4:5080" } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.attributes.recording_addr).toBe("rec@8.8.4.4:5080");
  });

  test("OUTBOUND_ALLOW_PRIVATE and OUTBOUND_ALLOWLIST let the operator allow internal recorders", async () => {
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "lab" } })).body;
    const path = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const body = JSON.stringify({ attributes: { recording_addr: "rec@10.1.10.190:5080" } });
    const headers = { Authorization: h().a.auth, "Content-Type": "application/json" };
    for (const input of [{ allowPrivate: true }, { allowlist: "10.1.10.0/24" }]) {
      const policy = parseOutboundPolicy(input);
      if (!policy.ok) throw new Error(policy.error);
      const app = createApp({ database: h().testDb.database, adminToken: ADMIN_TOKEN, outbound: policy.value });
      expect((await app.request(`http://api.test${path}`, { method: "PATCH", headers, body })).status).toBe(200);
    }
    const strict = parseOutboundPolicy({ allowlist: "10.1.10.191" });
    if (!strict.ok) throw new Error(strict.error);
    const app = createApp({ database: h().testDb.database, adminToken: ADMIN_TOKEN, outbound: strict.value });
    expect((await app.request(`http://api.test${path}`, { method: "PATCH", headers, body })).status).toBe(422);
  });
});

describe("the 500 path", () => {
  const db = blockDatabase();

  test("logs one escaped line with the route and the SQL text: no query string, parameters, hash or credentials", async () => {
    const hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    const real = createRepositories(db().database);
    const lines: string[] = [];
    const app = createApp({
      database: db().database,
      adminToken: ADMIN_TOKEN,
      logError: (line) => lines.push(line),
      repos: {
        ...real,
        accounts: {
          ...real.accounts,
          verifyLogin: async () => {
            const cause = Object.assign(new Error('invalid byte sequence: "evil\r\nINJECTED"'), {
              name: "PostgresError",
              code: "22021",
            });
            throw new DrizzleQueryError('select "password_hash" from "accounts" where "login" = $1', ["alice", hash], cause);
          },
        },
      },
    });
    const res = await app.request("http://api.test/conference/v2/meeting_rooms?filter=name%20eq%20secret-query", {
      headers: { Authorization: basicHeader("alice", "hunter2-password") },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      message: "internal server error",
      errors: [{ field: null, message: "internal server error", reference_sid: null }],
    });
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line).not.toMatch(/[\r\n\u0000]/);
    for (const secret of [
      "argon2",
      "alice",
      "hunter2",
      "secret-query",
      "INJECTED",
      basicHeader("alice", "hunter2-password").slice(6),
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(JSON.parse(line)).toMatchObject({
      msg: "api: unexpected error",
      method: "GET",
      path: "/conference/v2/meeting_rooms",
      error: {
        query: 'select "password_hash" from "accounts" where "login" = $1',
        cause: { name: "PostgresError", code: "22021" },
      },
    });
  });
});
