/**
 * Result filtering and pagination over real databases: every operator (also on keys
 * inside attributes) compiled to SQL, cross-checked against the in-memory evaluator
 * over the same objects, and the pagination edges.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ATTRIBUTE_KEYS } from "@conf/call-flow";
import { createHarness, forEachDatabase, type Harness } from "../testing.ts";
import { compilePredicate, type MemoryFieldMap, parseFilter } from "./filter.ts";
import { sortInMemory } from "./pagination.ts";

const ROOM_FIELDS: MemoryFieldMap = {
  account_sid: "uuid",
  did_group_sid: "uuid",
  meeting_room_sid: "uuid",
  name: "string",
  attributes: Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, "string" as const])),
};

type Room = { meeting_room_sid: string; name: string; did_group_sid: string | null; attributes: Record<string, string> };

const ROOMS: { name: string; attributes?: Record<string, string>; grouped?: boolean }[] = [
  { name: "Alpha", attributes: { conference_language: "EN" }, grouped: true },
  { name: "alpha two", attributes: { conference_language: "DE" } },
  { name: "alpha three", attributes: { conference_language: "EN", conference_moh: "jazz" } },
  { name: "Beta", grouped: true },
  { name: "beta%" },
  { name: "Gamma_1", attributes: { conference_language: "FR" } },
  { name: "GammaX1" },
  { name: "Delta", attributes: { conference_start_wait: "60" } },
  { name: "O'Brien room" },
  { name: 'Say "hi"' },
  { name: "Zeta", attributes: { conference_language: "DE" } },
  { name: "N/A" },
];

forEachDatabase((h) => {
  let rooms: Room[] = [];
  let groupSid = "";

  beforeAll(async () => {
    groupSid = (await h().json("POST", "/conference/v2/did_groups", { body: { name: "G" } })).body.did_group_sid;
    for (const r of ROOMS) {
      const res = await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { name: r.name, attributes: r.attributes ?? {}, did_group_sid: r.grouped ? groupSid : null },
      });
      expect(res.status).toBe(200);
    }
    // The other account's rooms must never show up.
    for (const name of ["Alpha", "Omega"]) {
      await h().json("POST", "/conference/v2/meeting_rooms", {
        auth: h().b.auth,
        body: { name, attributes: { conference_language: "EN" } },
      });
    }
    rooms = (await h().json("GET", "/conference/v2/meeting_rooms?limit=1000&order=name")).body.items;
    expect(rooms).toHaveLength(ROOMS.length);
  });

  const names = (items: Room[]) => items.map((r) => r.name);
  const list = async (query: string) => h().json("GET", `/conference/v2/meeting_rooms?${query}`);
  const filtered = async (filter: string) => {
    const r = await list(`limit=1000&order=name&filter=${encodeURIComponent(filter)}`);
    expect(r.status).toBe(200);
    return r.body.items as Room[];
  };
  /** What the in-memory evaluator says about the same objects. */
  const inMemory = (filter: string) => {
    const ast = parseFilter(filter);
    if (!ast.ok) throw new Error(ast.error);
    const p = compilePredicate(ast.value, ROOM_FIELDS);
    if (!p.ok) throw new Error(p.error);
    return sortInMemory(rooms.filter(p.value), { field: "name", direction: "asc" }, ROOM_FIELDS, (o, f) => o[f as "name"]);
  };

  const cases: { filter: string; expected?: string[] }[] = [
    { filter: "name eq Alpha", expected: ["Alpha"] },
    { filter: "name ne Alpha" },
    { filter: "name EQ 'alpha two'", expected: ["alpha two"] },
    { filter: 'name eq "O\'Brien room"', expected: ["O'Brien room"] },
    { filter: `name eq 'Say "hi"'`, expected: ['Say "hi"'] },
    { filter: 'name eq "Say \\"hi\\""', expected: ['Say "hi"'] },
    { filter: "name gt N", expected: ["N/A", "O'Brien room", 'Say "hi"', "Zeta", "alpha three", "alpha two", "beta%"] },
    { filter: "name ge N/A" },
    { filter: "name lt Beta", expected: ["Alpha"] },
    { filter: "name le Beta", expected: ["Alpha", "Beta"] },
    { filter: 'name like "alpha%"', expected: ["alpha three", "alpha two"] },
    { filter: 'name ilike "ALPHA%"', expected: ["Alpha", "alpha three", "alpha two"] },
    { filter: "name like Gamma_1", expected: ["GammaX1", "Gamma_1"] },
    { filter: "name like Gamma\\_1", expected: ["Gamma_1"] },
    { filter: "name like beta\\%", expected: ["beta%"] },
    { filter: 'name in ("Alpha", "Beta", "Nope")', expected: ["Alpha", "Beta"] },
    { filter: "name notin (Alpha,Beta)" },
    { filter: "attributes.conference_language eq EN", expected: ["Alpha", "alpha three"] },
    { filter: "attributes.conference_language ne EN" },
    { filter: "attributes.conference_language in (DE, FR)", expected: ["Gamma_1", "Zeta", "alpha two"] },
    { filter: "attributes.conference_language notin (EN)" },
    { filter: "attributes.conference_language eq null" },
    { filter: "attributes.conference_language ne null", expected: ["Alpha", "Gamma_1", "Zeta", "alpha three", "alpha two"] },
    { filter: "attributes.conference_language in (EN, null)" },
    { filter: "attributes.conference_language notin (EN, null)", expected: ["Gamma_1", "Zeta", "alpha two"] },
    { filter: "attributes.conference_start_wait gt 5", expected: ["Delta"] },
    { filter: "attributes.conference_moh like j%", expected: ["alpha three"] },
    { filter: "did_group_sid eq null" },
    { filter: "did_group_sid ne null", expected: ["Alpha", "Beta"] },
    { filter: 'name ilike "a%" and attributes.conference_language eq DE', expected: ["alpha two"] },
    { filter: "name ilike %a% AND did_group_sid ne null and name ne Beta", expected: ["Alpha"] },
  ];

  for (const c of cases) {
    test(`filter ${c.filter}`, async () => {
      const got = await filtered(c.filter);
      expect(names(got)).toEqual(names(inMemory(c.filter)));
      if (c.expected) expect(names(got)).toEqual(c.expected);
    });
  }

  test("filter by SID fields (uuid compared as text) and by the group", async () => {
    const alpha = rooms.find((r) => r.name === "Alpha")!;
    expect(names(await filtered(`meeting_room_sid eq ${alpha.meeting_room_sid}`))).toEqual(["Alpha"]);
    expect(names(await filtered(`did_group_sid eq ${groupSid}`))).toEqual(["Alpha", "Beta"]);
    expect(names(await filtered(`meeting_room_sid like ${alpha.meeting_room_sid.slice(0, 8)}%`))).toEqual(["Alpha"]);
    expect(await filtered("meeting_room_sid eq not-a-uuid")).toEqual([]);
    expect(await filtered(`account_sid eq ${h().b.accountSid}`)).toEqual([]);
  });

  test("bad filters are 400s that say what is wrong", async () => {
    const cases: [string, string][] = [
      ["nme eq x", 'unknown field "nme"'],
      ["name equals x", 'unknown operator "equals"'],
      ["name eq", 'missing value after "name eq"'],
      ['name eq "open', "unterminated quoted value"],
      ["name eq a or name eq b", 'expected "and"'],
      ["attributes.colour eq red", '"colour" is not a key of attributes'],
      ["attributes eq x", '"attributes" is an object'],
      ["access_codes eq 1", '"access_codes" cannot be used in a filter'],
      ["name in Alpha", 'expected "(" after "name in"'],
    ];
    for (const [filter, message] of cases) {
      const r = await list(`filter=${encodeURIComponent(filter)}`);
      expect(r.status).toBe(400);
      expect(r.body.message).toBe("bad request");
      expect(r.body.errors[0].field).toBe("filter");
      expect(r.body.errors[0].message).toContain(message);
    }
  });

  test("default page: 10 items, has_more, a next link", async () => {
    const r = await list("");
    expect(r.body).toMatchObject({ count: 10, has_more: true, limit: 10, offset: 0, total: 12 });
    expect(r.body.pagination).toEqual({ next: "http://api.test/conference/v2/meeting_rooms?offset=10" });
  });

  test("following next and previous links walks the list without gaps or overlaps", async () => {
    const seen: string[] = [];
    let url: string | undefined = "/conference/v2/meeting_rooms?order=name+desc&limit=5";
    let pages = 0;
    while (url && pages < 10) {
      const r: { body: { items: Room[]; pagination: { next?: string } } } = await h().json(
        "GET",
        url.replace("http://api.test", ""),
      );
      seen.push(...names(r.body.items));
      url = r.body.pagination.next;
      pages++;
      if (url) expect(url).toStartWith("http://api.test/conference/v2/meeting_rooms?order=name+desc&limit=5&offset=");
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(names(rooms).reverse());
    const middle = await list("order=name&limit=5&offset=5");
    expect(middle.body.pagination).toEqual({
      next: "http://api.test/conference/v2/meeting_rooms?order=name&limit=5&offset=10",
      previous: "http://api.test/conference/v2/meeting_rooms?order=name&limit=5&offset=0",
    });
    const last = await list("order=name&limit=5&offset=10");
    // Records before the last page lie outside it, so has_more is true (the reference: "more records existing outside of the queried parameters").
    expect(last.body).toMatchObject({
      count: 2,
      has_more: true,
      pagination: { previous: "http://api.test/conference/v2/meeting_rooms?order=name&limit=5&offset=5" },
    });
  });

  test("links keep the filter and field selection", async () => {
    const r = await list(`filter=${encodeURIComponent("name ilike %a%")}&include_fields=name&limit=2`);
    const next = new URL(r.body.pagination.next);
    expect(next.searchParams.get("filter")).toBe("name ilike %a%");
    expect(next.searchParams.get("include_fields")).toBe("name");
    expect(next.searchParams.get("offset")).toBe("2");
    expect(r.body.items.every((i: object) => Object.keys(i).join() === "name")).toBe(true);
  });

  test("limit 0: count 0, no items, the total, and a next link at the default limit", async () => {
    const r = await list("limit=0");
    expect(r.body).toEqual({
      count: 0,
      has_more: true,
      items: [],
      limit: 0,
      offset: 0,
      pagination: { next: "http://api.test/conference/v2/meeting_rooms?limit=10&offset=0" },
      total: 12,
    });
  });

  test("has_more and pagination agree at the start, middle, end and past the end", async () => {
    const base = "http://api.test/conference/v2/meeting_rooms?order=name&limit=2&offset=";
    const cases: [string, { count: number; has_more: boolean; pagination: Record<string, string> }][] = [
      ["0", { count: 2, has_more: true, pagination: { next: `${base}2` } }],
      ["6", { count: 2, has_more: true, pagination: { next: `${base}8`, previous: `${base}4` } }],
      ["10", { count: 2, has_more: true, pagination: { previous: `${base}8` } }],
      ["11", { count: 1, has_more: true, pagination: { previous: `${base}9` } }],
      ["12", { count: 0, has_more: true, pagination: { previous: `${base}10` } }],
      ["40", { count: 0, has_more: true, pagination: { previous: `${base}10` } }],
    ];
    for (const [offset, want] of cases) {
      const r = await list(`order=name&limit=2&offset=${offset}`);
      expect([offset, { count: r.body.count, has_more: r.body.has_more, pagination: r.body.pagination }]).toEqual([offset, want]);
    }
    const none = await list(`order=name&limit=2&offset=4&filter=${encodeURIComponent("name eq nobody")}`);
    expect(none.body).toMatchObject({ count: 0, has_more: false, pagination: {}, total: 0 });
    const all = await list("order=name&limit=12");
    expect(all.body).toMatchObject({ count: 12, has_more: false, pagination: {} });
  });

  test("limit 1000 is allowed, 1001 is a 400", async () => {
    expect((await list("limit=1000")).body).toMatchObject({ count: 12, has_more: false, limit: 1000, pagination: {} });
    const r = await list("limit=1001");
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      message: "bad request",
      errors: [{ field: "limit", message: "limit cannot exceed 1000", reference_sid: null }],
    });
    for (const q of ["limit=-1", "limit=abc", "offset=-5", "offset=1.5"]) expect((await list(q)).status).toBe(400);
  });

  test("an offset past the end: empty page with a previous link to the last records", async () => {
    const r = await list("offset=100");
    expect(r.body).toEqual({
      count: 0,
      has_more: true,
      items: [],
      limit: 10,
      offset: 100,
      pagination: { previous: "http://api.test/conference/v2/meeting_rooms?offset=2" },
      total: 12,
    });
  });

  test("order: asc, desc, by an attribute key; unknown or unsortable fields are 400s", async () => {
    const asc = names((await list("order=name&limit=1000")).body.items);
    expect(asc).toEqual([...asc].sort());
    expect(names((await list("order=name+DESC&limit=1000")).body.items)).toEqual([...asc].reverse());
    const byLang = names((await list("order=attributes.conference_language+desc&limit=3")).body.items);
    expect(byLang).toHaveLength(3);
    for (const [q, message] of [
      ["order=bogus", 'unknown field "bogus"'],
      ["order=access_codes", '"access_codes" cannot be used to order'],
      ["order=name+sideways", "order direction must be asc or desc"],
    ]) {
      const r = await list(q!);
      expect(r.status).toBe(400);
      expect(r.body.errors[0].field).toBe("order");
      expect(r.body.errors[0].message).toContain(message!);
    }
  });

  test("field filtering on the list: include and exclude", async () => {
    const inc = await list("include_fields=name,meeting_room_sid&limit=1");
    expect(Object.keys(inc.body.items[0]).sort()).toEqual(["meeting_room_sid", "name"]);
    const exc = await list("exclude_fields=access_codes,attributes&limit=1");
    expect(Object.keys(exc.body.items[0]).sort()).toEqual(["account_sid", "did_group_sid", "meeting_room_sid", "name"]);
    expect((await list("exclude_fields=nope")).status).toBe(400);
  });
});

describe("PUBLIC_URL makes the links absolute on it", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("pglite", { publicUrl: "https://conf.example.com" });
    for (let i = 0; i < 3; i++) await h.json("POST", "/conference/v2/did_groups", { body: {} });
  }, 60_000);
  afterAll(async () => {
    await h.invalidations.close();
    await h.testDb.drop();
  });
  test("next link", async () => {
    const r = await h.json("GET", "/conference/v2/did_groups?limit=1");
    expect(r.body.pagination).toEqual({ next: "https://conf.example.com/conference/v2/did_groups?limit=1&offset=1" });
  });
});
