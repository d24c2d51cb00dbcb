import { describe, expect, test } from "bun:test";
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
    { name: "negative limit", query: { limit: "-1" }, field: "limit", message: 'limit must be a whole number of 0 or more, got "-1"' },
    { name: "limit not a number", query: { limit: "ten" }, field: "limit", message: 'limit must be a whole number of 0 or more, got "ten"' },
    { name: "fractional offset", query: { offset: "1.5" }, field: "offset", message: 'offset must be a whole number of 0 or more, got "1.5"' },
    { name: "bad order direction", query: { order: "name up" }, field: "order", message: 'order direction must be asc or desc, got "up"' },
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
  test("limit 0: no items, the total, no next link", () => {
    const env = pageEnvelope({ items: [], matched: 7, total: 7, page: parsePageQuery({ limit: "0" }), requestUrl: url });
    expect(env.count).toBe(0);
    expect(env.total).toBe(7);
    expect(env.has_more).toBe(true);
    expect(env.pagination.next).toBeUndefined();
  });
  test("offset past the end: empty page, previous link only", () => {
    const page = parsePageQuery({ offset: "50", limit: "10" });
    const env = pageEnvelope({ items: [], matched: 5, total: 5, page, requestUrl: new URL("http://h/x?offset=50") });
    expect(env).toMatchObject({ count: 0, has_more: false, items: [], offset: 50, total: 5 });
    expect(env.pagination).toEqual({ previous: "http://h/x?offset=40" });
  });
  test("uncountable: total null, has_more from what matched", () => {
    const env = pageEnvelope({ items: [1], matched: 2, total: null, page: parsePageQuery({ limit: "1" }), requestUrl: url });
    expect(env.total).toBeNull();
    expect(env.has_more).toBe(true);
  });
  test("filter values survive in the links (encoded)", () => {
    const u = new URL('http://h/x?filter=name%20eq%20%22a%20b%22&limit=1');
    const env = pageEnvelope({ items: [1], matched: 3, total: 3, page: parsePageQuery({ limit: "1" }), requestUrl: u });
    const next = new URL(env.pagination.next!);
    expect(next.searchParams.get("filter")).toBe('name eq "a b"');
    expect(next.searchParams.get("offset")).toBe("1");
  });
});

describe("sortInMemory", () => {
  const items = [{ n: 2, s: "b" }, { n: null, s: "a" }, { n: 1, s: "c" }];
  const fields = { n: "number", s: "string" } as const;
  test("ascending puts nulls last, descending first (as Postgres)", () => {
    expect(sortInMemory(items, { field: "n", direction: "asc" }, fields, (o, f) => o[f as "n"]).map((o) => o.n)).toEqual([1, 2, null]);
    expect(sortInMemory(items, { field: "n", direction: "desc" }, fields, (o, f) => o[f as "n"]).map((o) => o.n)).toEqual([null, 2, 1]);
  });
  test("unknown field is a 400", () => {
    const e = error400(() => sortInMemory(items, { field: "zz", direction: "asc" }, fields, () => null));
    expect(e.field).toBe("order");
    expect(e.message).toContain('unknown field "zz"');
  });
});
