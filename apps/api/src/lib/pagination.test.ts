import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ApiError } from "./errors.ts";
import { pageEnvelope, parseOrder, parsePageQuery, sortInMemory } from "./pagination.ts";

function error400(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    const err = e as ApiError;
    expect(err.status).toBe(400);
    return (err.body as { errors: { field: string; message: string }[] }).errors[0]!;
  }
  throw new Error("expected a 400");
}

describe("parsePageQuery", () => {
  test("defaults", () => expect(parsePageQuery({})).toEqual({ limit: 10, offset: 0, order: null }));
  test("values", () =>
    expect(parsePageQuery({ limit: "2", offset: "4", order: "common_name desc" })).toEqual({
      limit: 2,
      offset: 4,
      order: { field: "common_name", direction: "desc" },
    }));
  test("limit 0 and 1000 are allowed", () => {
    expect(parsePageQuery({ limit: "0" }).limit).toBe(0);
    expect(parsePageQuery({ limit: "1000" }).limit).toBe(1000);
  });
  const bad: { name: string; query: Record<string, string>; field: string; message: string }[] = [
    { name: "limit over 1000", query: { limit: "1001" }, field: "limit", message: "limit cannot exceed 1000" },
    {
      name: "negative limit",
      query: { limit: "-1" },
      field: "limit",
      message: 'limit must be a whole number of 0 or more, got "-1"',
    },
    {
      name: "limit not a number",
      query: { limit: "ten" },
      field: "limit",
      message: 'limit must be a whole number of 0 or more, got "ten"',
    },
    {
      name: "fractional offset",
      query: { offset: "1.5" },
      field: "offset",
      message: 'offset must be a whole number of 0 or more, got "1.5"',
    },
    {
      name: "bad order direction",
      query: { order: "name up" },
      field: "order",
      message: 'order direction must be asc or desc, got "up"',
    },
    { name: "order with extra words", query: { order: "name asc desc" }, field: "order", message: "order takes one field" },
  ];
  for (const c of bad) {
    test(c.name, () => {
      const e = error400(() => parsePageQuery(c.query));
      expect(e.field).toBe(c.field);
      expect(e.message).toContain(c.message);
    });
  }
});

describe("parseOrder", () => {
  test("forms", () => {
    expect(parseOrder("name")).toEqual({ ok: true, value: { field: "name", direction: "asc" } });
    expect(parseOrder("name ASC")).toEqual({ ok: true, value: { field: "name", direction: "asc" } });
    expect(parseOrder(" name  desc ")).toEqual({ ok: true, value: { field: "name", direction: "desc" } });
  });
});

describe("pageEnvelope", () => {
  const url = new URL("https://api.carrierx.com/core/v2/countries?offset=2&limit=2&order=common_name+desc");
  test("the reference's example: next and previous keep the other parameters, offset last", () => {
    const page = parsePageQuery({ offset: "2", limit: "2", order: "common_name desc" });
    const env = pageEnvelope({ items: ["Yemen", "Western Sahara"], matched: 251, total: 251, page, requestUrl: url });
    expect(env).toEqual({
      count: 2,
      has_more: true,
      items: ["Yemen", "Western Sahara"],
      limit: 2,
      offset: 2,
      pagination: {
        next: "https://api.carrierx.com/core/v2/countries?limit=2&order=common_name+desc&offset=4",
        previous: "https://api.carrierx.com/core/v2/countries?limit=2&order=common_name+desc&offset=0",
      },
      total: 251,
    });
  });
  test("pagination is {} when everything is in the page", () => {
    const env = pageEnvelope({ items: [1], matched: 1, total: 1, page: parsePageQuery({}), requestUrl: url });
    expect(env.pagination).toEqual({});
    expect(env.has_more).toBe(false);
  });
  test("PUBLIC_URL replaces the request's origin", () => {
    const env = pageEnvelope({
      items: [1],
      matched: 5,
      total: 5,
      page: parsePageQuery({ limit: "1" }),
      requestUrl: new URL("http://internal:3000/conference/v2/dids?limit=1"),
      baseUrl: "https://conf.example.com/",
    });
    expect(env.pagination).toEqual({ next: "https://conf.example.com/conference/v2/dids?limit=1&offset=1" });
  });
  // 13 records, as the audit's case (offset=12&limit=2 over 13 rooms).
  const R = "http://h/x";
  const at = (offset: number, limit: number) => `${R}?offset=${offset}`.replace("?", `?limit=${limit}&`);
  const edges: {
    name: string;
    query: Record<string, string>;
    matched: number;
    count: number;
    has_more: boolean;
    pagination: { next?: string; previous?: string };
  }[] = [
    { name: "start", query: { limit: "2" }, matched: 13, count: 2, has_more: true, pagination: { next: at(2, 2) } },
    {
      name: "middle",
      query: { limit: "2", offset: "6" },
      matched: 13,
      count: 2,
      has_more: true,
      pagination: { next: at(8, 2), previous: at(4, 2) },
    },
    {
      name: "last page, partly filled",
      query: { limit: "2", offset: "12" },
      matched: 13,
      count: 1,
      has_more: true,
      pagination: { previous: at(10, 2) },
    },
    {
      name: "last page, exactly filled",
      query: { limit: "2", offset: "11" },
      matched: 13,
      count: 2,
      has_more: true,
      pagination: { previous: at(9, 2) },
    },
    {
      name: "offset inside the first page's width",
      query: { limit: "5", offset: "3" },
      matched: 13,
      count: 5,
      has_more: true,
      pagination: { next: at(8, 5), previous: at(0, 5) },
    },
    {
      name: "past the end: previous is the last records",
      query: { limit: "2", offset: "50" },
      matched: 13,
      count: 0,
      has_more: true,
      pagination: { previous: at(11, 2) },
    },
    {
      name: "just past the end",
      query: { limit: "2", offset: "13" },
      matched: 13,
      count: 0,
      has_more: true,
      pagination: { previous: at(11, 2) },
    },
    { name: "everything in one page", query: { limit: "13" }, matched: 13, count: 13, has_more: false, pagination: {} },
    { name: "nothing matches, offset 0", query: { limit: "2" }, matched: 0, count: 0, has_more: false, pagination: {} },
    {
      name: "nothing matches, offset past it",
      query: { limit: "2", offset: "4" },
      matched: 0,
      count: 0,
      has_more: false,
      pagination: {},
    },
    {
      name: "limit 0 at the start: next at the default limit",
      query: { limit: "0" },
      matched: 13,
      count: 0,
      has_more: true,
      pagination: { next: at(0, 10) },
    },
    {
      name: "limit 0 in the middle",
      query: { limit: "0", offset: "6" },
      matched: 13,
      count: 0,
      has_more: true,
      pagination: { next: at(6, 10), previous: at(0, 10) },
    },
    {
      name: "limit 0 past the end",
      query: { limit: "0", offset: "20" },
      matched: 13,
      count: 0,
      has_more: true,
      pagination: { previous: at(3, 10) },
    },
    { name: "limit 0 over nothing", query: { limit: "0" }, matched: 0, count: 0, has_more: false, pagination: {} },
  ];
  for (const e of edges) {
    test(`edges: ${e.name}`, () => {
      const page = parsePageQuery(e.query);
      const url = new URL(`${R}?${new URLSearchParams(e.query).toString()}`);
      const items = Array.from({ length: e.count }, (_, i) => i);
      const env = pageEnvelope({ items, matched: e.matched, total: e.matched, page, requestUrl: url });
      expect({ count: env.count, has_more: env.has_more, pagination: env.pagination }).toEqual({
        count: e.count,
        has_more: e.has_more,
        pagination: e.pagination,
      });
    });
  }
  test("limit 0 links use the route's default limit (1000 for the Core lists)", () => {
    const page = parsePageQuery({ limit: "0" }, 1000);
    const env = pageEnvelope({ items: [], matched: 3, total: 3, page, requestUrl: new URL(`${R}?limit=0`), defaultLimit: 1000 });
    expect(env.pagination).toEqual({ next: at(0, 1000) });
  });
  test("property: has_more is true exactly when records lie outside the page, and exactly then there are links", () => {
    fc.assert(
      fc.property(fc.nat(30), fc.nat(40), fc.nat(12), (matched, offset, limit) => {
        const page = parsePageQuery({ limit: String(limit), offset: String(offset) });
        const count = Math.max(0, Math.min(limit, matched - offset));
        const env = pageEnvelope({
          items: Array.from({ length: count }, (_, i) => i),
          matched,
          total: matched,
          page,
          requestUrl: new URL(R),
        });
        const outside = matched - count > 0;
        expect(env.has_more).toBe(outside);
        expect(Object.keys(env.pagination).length > 0).toBe(outside);
        expect(env.pagination.next !== undefined).toBe(offset + count < matched);
        expect(env.pagination.previous !== undefined).toBe(offset > 0 && matched > 0);
        // No link ever asks for limit=0, and a previous link never lands past the end.
        for (const link of Object.values(env.pagination)) {
          const u = new URL(link);
          expect(Number(u.searchParams.get("limit") ?? "10")).toBeGreaterThan(0);
        }
        if (env.pagination.previous)
          expect(Number(new URL(env.pagination.previous).searchParams.get("offset"))).toBeLessThan(matched);
      }),
    );
  });
  test("uncountable: total null, has_more from what matched", () => {
    const env = pageEnvelope({ items: [1], matched: 2, total: null, page: parsePageQuery({ limit: "1" }), requestUrl: url });
    expect(env.total).toBeNull();
    expect(env.has_more).toBe(true);
  });
  test("filter values survive in the links (encoded)", () => {
    const u = new URL("http://h/x?filter=name%20eq%20%22a%20b%22&limit=1");
    const env = pageEnvelope({ items: [1], matched: 3, total: 3, page: parsePageQuery({ limit: "1" }), requestUrl: u });
    const next = new URL(env.pagination.next!);
    expect(next.searchParams.get("filter")).toBe('name eq "a b"');
    expect(next.searchParams.get("offset")).toBe("1");
  });
});

describe("sortInMemory", () => {
  const items = [
    { n: 2, s: "b" },
    { n: null, s: "a" },
    { n: 1, s: "c" },
  ];
  const fields = { n: "number", s: "string" } as const;
  test("ascending puts nulls last, descending first (as Postgres)", () => {
    expect(sortInMemory(items, { field: "n", direction: "asc" }, fields, (o, f) => o[f as "n"]).map((o) => o.n)).toEqual([
      1,
      2,
      null,
    ]);
    expect(sortInMemory(items, { field: "n", direction: "desc" }, fields, (o, f) => o[f as "n"]).map((o) => o.n)).toEqual([
      null,
      2,
      1,
    ]);
  });
  test("unknown field is a 400", () => {
    const e = error400(() => sortInMemory(items, { field: "zz", direction: "asc" }, fields, () => null));
    expect(e.field).toBe("order");
    expect(e.message).toContain('unknown field "zz"');
  });
});
