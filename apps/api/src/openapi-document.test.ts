/**
 * The OpenAPI document describes what the server sends: every operation is named, the
 * license is stated, and real responses (the reference's 400 for bad JSON, bodies cut
 * by include_fields / exclude_fields, errors) validate against the document's own
 * schemas, checked by a JSON Schema 2020-12 validator (OpenAPI 3.1's schema dialect).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { createApp } from "./app.ts";
import { ADMIN_TOKEN, assignDid, forEachLivePlane, type LiveHarness } from "./testing.ts";

type Doc = {
  info: { license?: { name: string; identifier?: string; url?: string } };
  paths: Record<
    string,
    Record<string, { operationId?: string; responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
};

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];

/** Validators of the document's response schemas, by operation and status. */
function responseValidator(doc: Doc) {
  // Strict mode would refuse OpenAPI's own keywords (example); formats are not the point here.
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const cache = new Map<string, ValidateFunction>();
  return (method: string, template: string, status: number, body: unknown): string[] => {
    const key = `${method} ${template} ${status}`;
    let validate = cache.get(key);
    if (!validate) {
      const op = doc.paths[template]?.[method.toLowerCase()];
      if (!op) return [`no operation ${method} ${template} in the document`];
      const response = op.responses[String(status)] ?? op.responses.default;
      if (!response) return [`${method} ${template} documents no ${status} (nor a default)`];
      const schema = response.content?.["application/json"]?.schema;
      if (!schema) return body === null ? [] : [`${method} ${template} ${status} documents no JSON body`];
      // The document's refs are "#/components/...": give the schema the document's components as its root's.
      validate = ajv.compile({ $id: `https://doc.test/${cache.size}`, ...schema, components: doc.components });
      cache.set(key, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${key}: ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  };
}

describe("the document", () => {
  let doc: Doc;
  beforeAll(async () => {
    // The document does not depend on the data: any database will do, and none is read.
    const app = createApp({ database: null as never, adminToken: ADMIN_TOKEN, repos: {} as never });
    doc = (await (await app.request("http://api.test/conference/v2/openapi.json")).json()) as Doc;
  });

  test("every operation has an operationId, unique and camelCase", () => {
    const ids: string[] = [];
    const missing: string[] = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!METHODS.includes(method)) continue;
        if (op.operationId === undefined) missing.push(`${method.toUpperCase()} ${template}`);
        else ids.push(op.operationId);
      }
    }
    expect(missing).toEqual([]);
    expect(ids.length).toBeGreaterThanOrEqual(42);
    expect(ids.filter((id) => !/^[a-z][a-zA-Z0-9]*$/.test(id))).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  test("the license is the repository's (MIT, the LICENSE file at the root)", async () => {
    expect(doc.info.license).toEqual({ name: "MIT", url: "https://spdx.org/licenses/MIT.html" });
    const text = await Bun.file(new URL("../../../LICENSE", import.meta.url)).text();
    expect(text).toStartWith("MIT License");
  });

  test("the validator catches a body the document does not describe", () => {
    const check = responseValidator(doc);
    expect(check("GET", "/conference/v2/meeting_rooms/{meeting_room_sid}", 200, { name: 5 })).not.toEqual([]);
    expect(check("POST", "/conference/v2/meeting_rooms", 400, { body: { message: "other" }, status: 400 })).not.toEqual([]);
  });
});

forEachLivePlane((h: () => LiveHarness) => {
  let check: ReturnType<typeof responseValidator>;
  let room: { meeting_room_sid: string };
  let group: { did_group_sid: string };
  let did: { did_sid: string };
  let callSid = "";
  let meetingSid = "";

  beforeAll(async () => {
    check = responseValidator((await h().json("GET", "/conference/v2/openapi.json", { auth: null })).body);
    did = await assignDid(h(), h().a, "15162065801");
    group = (await h().json("POST", "/conference/v2/did_groups", { body: { name: "G" } })).body;
    room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { name: "Doc", attributes: { conference_moh: "jazz" }, access_codes: [{ access_code: "880001", role: "host" }] },
      })
    ).body;
    const prefix = await h().json("POST", "/core/v2/prefixes", {
      auth: `Bearer ${ADMIN_TOKEN}`,
      body: { prefix: "7777", endpoint_sid: h().a.endpointSid },
    });
    expect(prefix.status).toBe(200);
    const joined = await h().dialIn("15162065801", "880001", { name: "Caller" });
    callSid = joined.call.call_sid;
    meetingSid = joined.meeting.meeting_sid;
  });

  /** Sends the request and returns the document's complaints about the response. */
  async function answer(
    method: string,
    template: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; auth?: string | null } = {},
  ) {
    const r = await h().json(method, path, options);
    return { status: r.status, body: r.body, problems: check(method, template, r.status, r.body) };
  }

  test("400 for bad JSON on every route that takes a body is the documented BadJson", async () => {
    const sid = "00000000-0000-4000-8000-000000000001";
    const writes: [string, string, string, string?][] = [
      ["POST", "/conference/v2/meeting_rooms", "/conference/v2/meeting_rooms"],
      ["PUT", "/conference/v2/meeting_rooms/{meeting_room_sid}", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`],
      ["PATCH", "/conference/v2/meeting_rooms/{meeting_room_sid}", `/conference/v2/meeting_rooms/${room.meeting_room_sid}`],
      ["POST", "/conference/v2/did_groups", "/conference/v2/did_groups"],
      ["PUT", "/conference/v2/did_groups/{did_group_sid}", `/conference/v2/did_groups/${group.did_group_sid}`],
      ["PUT", "/conference/v2/dids/{did_sid}", `/conference/v2/dids/${did.did_sid}`],
      ["PUT", "/conference/v2/accounts/{account_sid}", `/conference/v2/accounts/${h().a.accountSid}`],
      ["PATCH", "/conference/v2/calls/{call_sid}", `/conference/v2/calls/${sid}`],
      ["PATCH", "/conference/v2/meetings/{meeting_sid}", `/conference/v2/meetings/${sid}`],
      ["POST", "/core/v2/endpoints", "/core/v2/endpoints", `Bearer ${ADMIN_TOKEN}`],
    ];
    for (const [method, template, path, auth] of writes) {
      const r = await answer(method, template, path, { body: "{bad", headers: { "Content-Type": "application/json" }, auth });
      expect([method, template, r.status, r.problems]).toEqual([method, template, 400, []]);
      expect(r.body.status).toBe(400);
    }
  });

  test("lists cut by include_fields and exclude_fields match the document", async () => {
    const lists: [string, string?][] = [
      ["/conference/v2/accounts"],
      ["/conference/v2/call_flows"],
      ["/conference/v2/dids"],
      ["/conference/v2/did_groups"],
      ["/conference/v2/meeting_rooms"],
      ["/conference/v2/calls"],
      ["/conference/v2/meetings"],
      ["/core/v2/endpoints", `Bearer ${ADMIN_TOKEN}`],
      ["/core/v2/dids", `Bearer ${ADMIN_TOKEN}`],
      ["/core/v2/prefixes", `Bearer ${ADMIN_TOKEN}`],
    ];
    for (const [path, auth] of lists) {
      const whole = await answer("GET", path, path, { auth });
      expect([path, whole.status, whole.problems, whole.body.count > 0]).toEqual([path, 200, [], true]);
      // Cut by the object's own fields (an unknown field is a 400).
      const keys = Object.keys(whole.body.items[0]);
      for (const query of [
        `?include_fields=${keys[1]}`,
        `?exclude_fields=${keys.slice(0, 2).join(",")}`,
        `?include_fields=${keys[0]}&limit=0`,
      ]) {
        const r = await answer("GET", path, `${path}${query}`, { auth });
        expect([path, query, r.status, r.problems]).toEqual([path, query, 200, []]);
      }
    }
    const cut = await answer("GET", "/conference/v2/meeting_rooms", "/conference/v2/meeting_rooms?include_fields=name");
    expect(cut.body.items).toEqual([{ name: "Doc" }]);
  });

  test("objects cut by exclude_fields and include_fields match the document, on reads and writes", async () => {
    const rooms = "/conference/v2/meeting_rooms/{meeting_room_sid}";
    const objects: [string, string, string, unknown?][] = [
      ["GET", "/conference/v2/accounts/whoami", "/conference/v2/accounts/whoami"],
      ["GET", "/conference/v2/accounts/{account_sid}", `/conference/v2/accounts/${h().a.accountSid}`],
      ["GET", "/conference/v2/call_flows/{call_flow_sid}", "/conference/v2/call_flows/fb2b69b1-6998-4cdc-b04c-a267c585f767"],
      ["GET", "/conference/v2/dids/{did_sid}", `/conference/v2/dids/${did.did_sid}`],
      ["GET", "/conference/v2/did_groups/{did_group_sid}", `/conference/v2/did_groups/${group.did_group_sid}`],
      ["GET", rooms, `/conference/v2/meeting_rooms/${room.meeting_room_sid}`],
      ["GET", "/conference/v2/calls/{call_sid}", `/conference/v2/calls/${callSid}`],
      ["GET", "/conference/v2/meetings/{meeting_sid}", `/conference/v2/meetings/${meetingSid}`],
      ["PATCH", rooms, `/conference/v2/meeting_rooms/${room.meeting_room_sid}`, { name: "Doc" }],
      [
        "PUT",
        rooms,
        `/conference/v2/meeting_rooms/${room.meeting_room_sid}`,
        { name: "Doc", attributes: {}, did_group_sid: null, access_codes: [] },
      ],
      ["POST", "/conference/v2/did_groups", "/conference/v2/did_groups", {}],
      ["PATCH", "/conference/v2/calls/{call_sid}", `/conference/v2/calls/${callSid}`, { muted: false }],
    ];
    for (const [method, template, path, body] of objects) {
      const whole = await answer(method, template, path, { body });
      expect([method, path, whole.status, whole.problems]).toEqual([method, path, 200, []]);
      const keys = Object.keys(whole.body);
      for (const query of [`?exclude_fields=${keys.slice(0, 3).join(",")}`, `?include_fields=${keys[keys.length - 1]}`]) {
        const r = await answer(method, template, `${path}${query}`, { body });
        expect([method, path, query, r.status, r.problems]).toEqual([method, path, query, 200, []]);
      }
    }
    const cut = await answer(
      "GET",
      rooms,
      `/conference/v2/meeting_rooms/${room.meeting_room_sid}?exclude_fields=access_codes,attributes`,
    );
    expect(Object.keys(cut.body).sort()).toEqual(["account_sid", "did_group_sid", "meeting_room_sid", "name"]);
  });

  test("error bodies match the document: 401, 403, 404, 415, 422, 400 of a query, 413", async () => {
    const rooms = "/conference/v2/meeting_rooms/{meeting_room_sid}";
    const path = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const cases: [string, string, string, { body?: unknown; headers?: Record<string, string>; auth?: string | null }, number][] =
      [
        ["GET", rooms, path, { auth: null }, 401],
        ["GET", rooms, "/conference/v2/meeting_rooms/00000000-0000-4000-8000-000000000009", {}, 404],
        ["PUT", rooms, path, { body: { name: "x" } }, 422],
        ["PATCH", rooms, path, { body: "{}", headers: { "Content-Type": "text/plain" } }, 415],
        ["GET", "/conference/v2/meeting_rooms", "/conference/v2/meeting_rooms?filter=name+zz+1", {}, 400],
        ["POST", "/conference/v2/meeting_rooms", "/conference/v2/meeting_rooms", { body: { name: "x".repeat(2_000_000) } }, 413],
        ["GET", "/core/v2/endpoints", "/core/v2/endpoints", {}, 403],
      ];
    for (const [method, template, p, options, status] of cases) {
      const r = await answer(method, template, p, options);
      expect([method, p.slice(0, 60), r.status, r.problems]).toEqual([method, p.slice(0, 60), status, []]);
    }
  });
});
