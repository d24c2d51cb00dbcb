import { describe, expect, test } from "bun:test";
import { PgDialect, boolean, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { compileFilter, compilePredicate, type FilterAst, likeMatcher, type MemoryFieldMap, parseFilter } from "./filter.ts";

const ok = (s: string): FilterAst => {
  const r = parseFilter(s);
  if (!r.ok) throw new Error(`parse failed: ${r.error}`);
  return r.value;
};

describe("parseFilter: accepted", () => {
  const cases: { name: string; input: string; expected: FilterAst["conditions"] }[] = [
    { name: "bare word", input: "type eq conference", expected: [{ field: "type", op: "eq", value: "conference" }] },
    {
      name: "double quotes with spaces",
      input: 'name eq "filter value name"',
      expected: [{ field: "name", op: "eq", value: "filter value name" }],
    },
    { name: "single quotes", input: "name eq 'my mediator'", expected: [{ field: "name", op: "eq", value: "my mediator" }] },
    { name: "escaped quote", input: 'name eq "say \\"hi\\""', expected: [{ field: "name", op: "eq", value: 'say "hi"' }] },
    { name: "other quote inside", input: `name eq "O'Brien"`, expected: [{ field: "name", op: "eq", value: "O'Brien" }] },
    { name: "empty quoted", input: 'name eq ""', expected: [{ field: "name", op: "eq", value: "" }] },
    {
      name: "and of two (the reference's example)",
      input: 'state eq "NY" and phonenumber like "%555%"',
      expected: [
        { field: "state", op: "eq", value: "NY" },
        { field: "phonenumber", op: "like", value: "%555%" },
      ],
    },
    {
      name: "keywords case-insensitive",
      input: "a EQ 1 AND b Ne 2 aNd c ILIKE x",
      expected: [
        { field: "a", op: "eq", value: "1" },
        { field: "b", op: "ne", value: "2" },
        { field: "c", op: "ilike", value: "x" },
      ],
    },
    {
      name: "in list quoted",
      input: 'status in ("active", "suspended")',
      expected: [{ field: "status", op: "in", values: ["active", "suspended"] }],
    },
    {
      name: "notin list bare, no spaces",
      input: "status notin (a,b)",
      expected: [{ field: "status", op: "notin", values: ["a", "b"] }],
    },
    {
      name: "in list mixed quotes",
      input: `x in ( 'a b' ,"c",d )`,
      expected: [{ field: "x", op: "in", values: ["a b", "c", "d"] }],
    },
    {
      name: "in list with a comma inside quotes",
      input: `x in ("a,b", c)`,
      expected: [{ field: "x", op: "in", values: ["a,b", "c"] }],
    },
    { name: "bare null", input: "did_group_sid eq null", expected: [{ field: "did_group_sid", op: "eq", value: null }] },
    { name: "quoted null is a string", input: 'name eq "null"', expected: [{ field: "name", op: "eq", value: "null" }] },
    {
      name: "dotted field",
      input: "attributes.conference_language eq EN",
      expected: [{ field: "attributes.conference_language", op: "eq", value: "EN" }],
    },
    {
      name: "bare value with comma and parens",
      input: "call_moh_list eq legacy,beep(x)",
      expected: [{ field: "call_moh_list", op: "eq", value: "legacy,beep(x)" }],
    },
    { name: "surrounding and repeated spaces", input: "  a   gt   5  ", expected: [{ field: "a", op: "gt", value: "5" }] },
    {
      name: "every scalar operator",
      input: "a eq 1 and a ne 1 and a gt 1 and a ge 1 and a lt 1 and a le 1 and a like 1 and a ilike 1",
      expected: (["eq", "ne", "gt", "ge", "lt", "le", "like", "ilike"] as const).map((op) => ({ field: "a", op, value: "1" })),
    },
  ];
  for (const c of cases) test(c.name, () => expect(ok(c.input).conditions).toEqual(c.expected));
});

describe("parseFilter: rejected with a message saying what is wrong", () => {
  const cases: { input: string; message: string }[] = [
    { input: "", message: "the filter is empty" },
    { input: "   ", message: "the filter is empty" },
    { input: "name", message: 'expected an operator after "name"' },
    { input: "name equals x", message: 'unknown operator "equals" after "name" at position 6' },
    { input: "name eq", message: 'missing value after "name eq"' },
    { input: 'name eq "abc', message: "unterminated quoted value starting at position 9" },
    { input: "name eq a or b eq c", message: 'expected "and" or the end of the filter at position 11, found "or"' },
    { input: "name eq a and", message: "expected a field name" },
    { input: "status in a", message: 'expected "(" after "status in"' },
    { input: "status in (a, b", message: 'unclosed list after "status in"' },
    { input: "status in ()", message: 'empty list after "status in"' },
    { input: "status in (a b)", message: 'expected "," or ")" at position 14' },
    { input: "1abc eq x", message: '"1abc" at position 1 is not a field name' },
    { input: 'name eq ab"c', message: "unexpected quote" },
    { input: '"name" eq x', message: "expected a field name at position 1" },
  ];
  for (const c of cases) {
    test(JSON.stringify(c.input), () => {
      const r = parseFilter(c.input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain(c.message);
    });
  }
});

describe("parseFilter: limits", () => {
  const limits = { maxLength: 60, maxConditions: 2, maxListValues: 3, maxPatternLength: 5 };
  const cases: { name: string; input: string; error: string | null }[] = [
    { name: "within every limit", input: 'a like "%b_c%" and b in (1, 2, 3)', error: null },
    { name: "too long", input: `a eq "${"x".repeat(60)}"`, error: "the filter is longer than 60 characters" },
    { name: "too many conditions", input: "a eq 1 and b eq 2 and c eq 3", error: "at most 2 conditions are allowed" },
    { name: "too many list values", input: "a in (1, 2, 3, 4)", error: "a list may hold at most 3 values" },
    { name: "like pattern too long", input: 'a like "%%%%%%"', error: 'the like pattern of "a" is longer than 5 characters' },
    { name: "ilike pattern too long", input: "a ilike ______", error: 'the ilike pattern of "a" is longer than 5 characters' },
    { name: "eq values are not patterns", input: "a eq 123456789", error: null },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseFilter(c.input, limits);
      if (c.error === null) expect(r.ok).toBe(true);
      else expect(r).toEqual({ ok: false, error: c.error });
    });
  }
});

describe("likeMatcher", () => {
  test("% and _ and escapes", () => {
    expect(likeMatcher("%555%", false)("15165550000")).toBe(true);
    expect(likeMatcher("a_c", false)("abc")).toBe(true);
    expect(likeMatcher("a_c", false)("abbc")).toBe(false);
    expect(likeMatcher("100\\%", false)("100%")).toBe(true);
    expect(likeMatcher("100\\%", false)("1000")).toBe(false);
    expect(likeMatcher("a.b", false)("axb")).toBe(false);
    expect(likeMatcher("Account%", false)("account 1")).toBe(false);
    expect(likeMatcher("AccOUnt%", true)("account 1")).toBe(true);
  });
});

const CALL_FIELDS: MemoryFieldMap = {
  call_sid: "uuid",
  name: "string",
  duration: "number",
  muted: "boolean",
  date_joined: "date",
  meeting_sid: "uuid",
  attendees: { hosts: "number" },
};
const calls = [
  {
    call_sid: "a",
    name: "Alice",
    duration: 10,
    muted: false,
    date_joined: "2021-09-03T14:11:55.000Z",
    meeting_sid: null,
    attendees: { hosts: 1 },
  },
  {
    call_sid: "b",
    name: "bob",
    duration: 20,
    muted: true,
    date_joined: "2021-09-03T14:12:00.000Z",
    meeting_sid: "m1",
    attendees: { hosts: 0 },
  },
  {
    call_sid: "c",
    name: "Carol Ann",
    duration: 30,
    muted: false,
    date_joined: "2021-09-04T00:00:00.000Z",
    meeting_sid: "m2",
    attendees: { hosts: 2 },
  },
];

describe("compilePredicate (live objects)", () => {
  const cases: { filter: string; expected: string[] }[] = [
    { filter: "name eq Alice", expected: ["a"] },
    { filter: "name ne Alice", expected: ["b", "c"] },
    { filter: "duration gt 10", expected: ["b", "c"] },
    { filter: "duration ge 20", expected: ["b", "c"] },
    { filter: "duration lt 20", expected: ["a"] },
    { filter: "duration le 20", expected: ["a", "b"] },
    { filter: "duration eq 20.0", expected: ["b"] },
    { filter: 'name like "%o%"', expected: ["b", "c"] },
    { filter: "name like B%", expected: [] },
    { filter: "name ilike B%", expected: ["b"] },
    { filter: 'name eq "Carol Ann"', expected: ["c"] },
    { filter: 'name in ("Alice", "bob")', expected: ["a", "b"] },
    { filter: 'name notin ("Alice", "bob")', expected: ["c"] },
    { filter: "muted eq true", expected: ["b"] },
    { filter: "muted eq FALSE", expected: ["a", "c"] },
    { filter: "muted ne true", expected: ["a", "c"] },
    { filter: "date_joined gt 2021-09-03T14:11:55.000Z", expected: ["b", "c"] },
    { filter: "date_joined ge 2021-09-03T14:11:55Z", expected: ["a", "b", "c"] },
    { filter: "date_joined lt 2021-09-04", expected: ["a", "b"] },
    { filter: "date_joined like 2021-09-03%", expected: ["a", "b"] },
    { filter: "meeting_sid eq null", expected: ["a"] },
    { filter: "meeting_sid ne null", expected: ["b", "c"] },
    { filter: "meeting_sid ne m1", expected: ["a", "c"] },
    { filter: "meeting_sid notin (m1)", expected: ["a", "c"] },
    { filter: "meeting_sid in (m1, null)", expected: ["a", "b"] },
    { filter: "meeting_sid notin (m1, null)", expected: ["c"] },
    { filter: "attendees.hosts gt 0", expected: ["a", "c"] },
    { filter: "duration gt 10 and muted eq false", expected: ["c"] },
    { filter: "duration like 1%", expected: ["a"] },
  ];
  for (const c of cases) {
    test(c.filter, () => {
      const p = compilePredicate(ok(c.filter), CALL_FIELDS);
      if (!p.ok) throw new Error(p.error);
      expect(calls.filter(p.value).map((x) => x.call_sid)).toEqual(c.expected);
    });
  }

  const bad: { filter: string; message: string }[] = [
    { filter: "nope eq 1", message: 'unknown field "nope"' },
    { filter: "duration gt ten", message: '"duration" is a number; "ten" is not' },
    { filter: "muted eq yes", message: '"muted" is true or false' },
    { filter: "muted gt true", message: "can only be compared with eq, ne, in and notin" },
    { filter: "date_joined gt yesterday", message: '"date_joined" is a date' },
    { filter: "attendees eq 1", message: '"attendees" is an object' },
    { filter: "attendees.nobody eq 1", message: 'unknown field "attendees.nobody"' },
    { filter: "duration gt null", message: "null can only be compared with eq, ne, in and notin" },
  ];
  for (const c of bad) {
    test(`rejects ${c.filter}`, () => {
      const p = compilePredicate(ok(c.filter), CALL_FIELDS);
      expect(p.ok).toBe(false);
      if (!p.ok) expect(p.error).toContain(c.message);
    });
  }
});

describe("compileFilter (SQL)", () => {
  const t = pgTable("rooms", {
    sid: uuid().primaryKey(),
    name: text(),
    size: integer(),
    open: boolean(),
    attributes: jsonb(),
    created: timestamp({ withTimezone: true, mode: "string" }),
  });
  const fields = {
    meeting_room_sid: t.sid,
    name: t.name,
    size: t.size,
    open: t.open,
    attributes: t.attributes,
    date_created: t.created,
  };
  const dialect = new PgDialect();
  const compile = (s: string, opts = {}) => {
    const r = compileFilter(ok(s), fields, opts);
    if (!r.ok) throw new Error(r.error);
    return dialect.sqlToQuery(r.value);
  };

  test("values are bound parameters, never spliced", () => {
    const evil = `x'; drop table rooms; --`;
    const q = compile(`name eq "${evil}"`);
    expect(q.sql).not.toContain("drop table");
    expect(q.params).toEqual([evil]);
  });
  test("eq / ne / ordering on text", () => {
    expect(compile("name eq a").sql).toBe(`("rooms"."name" = $1)`);
    expect(compile("name ne a").sql).toBe(`("rooms"."name" is distinct from $1)`);
    expect(compile("name gt a").sql).toBe(`(("rooms"."name")::text collate "C" > $1)`);
  });
  test("uuid compared as text, numbers and booleans typed", () => {
    expect(compile("meeting_room_sid eq abc").sql).toBe(`(("rooms"."sid")::text = $1)`);
    const n = compile("size ge 5");
    expect(n.sql).toBe(`("rooms"."size" >= $1)`);
    expect(n.params).toEqual([5]);
    expect(compile("open eq TRUE").params).toEqual([true]);
  });
  test("dates compared as timestamps, like against the API's ISO text", () => {
    const q = compile("date_created lt 2021-02-25T20:36:54Z");
    expect(q.sql).toBe(`("rooms"."created" < $1::timestamptz)`);
    expect(q.params).toEqual(["2021-02-25T20:36:54.000Z"]);
    expect(compile("date_created like 2021%").sql).toContain("to_char(");
  });
  test("a like pattern on a date is a text parameter, never cast to a timestamp (was a 500)", () => {
    for (const pattern of ["%", "2021%", "not a date"]) {
      const q = compile(`date_created like "${pattern}"`);
      expect(q.sql).not.toContain("timestamptz");
      expect(q.params).toEqual([pattern]);
    }
  });
  test("like and ilike", () => {
    expect(compile('name like "A%"').sql).toBe(`(("rooms"."name")::text like $1)`);
    expect(compile('name ilike "a%"').sql).toBe(`(("rooms"."name")::text ilike $1)`);
  });
  test("in / notin with and without null", () => {
    const q = compile('name in ("a", "b")');
    expect(q.sql).toBe(`("rooms"."name" in ($1, $2))`);
    expect(q.params).toEqual(["a", "b"]);
    expect(compile("name notin (a)").sql).toBe(`("rooms"."name" is null or not coalesce("rooms"."name" in ($1), false))`);
    expect(compile("name in (a, null)").sql).toBe(`("rooms"."name" in ($1) or "rooms"."name" is null)`);
    expect(compile("name eq null").sql).toBe(`("rooms"."name" is null)`);
  });
  test("keys inside attributes", () => {
    const q = compile("attributes.conference_language eq EN");
    expect(q.sql).toBe(`(("rooms"."attributes" ->> $1::text) = $2)`);
    expect(q.params).toEqual(["conference_language", "EN"]);
  });
  test("and joins conditions", () => {
    expect(compile("name eq a and size lt 3").sql).toBe(`("rooms"."name" = $1) and ("rooms"."size" < $2)`);
  });
  test("errors name what is wrong", () => {
    const err = (s: string, opts = {}) => {
      const r = compileFilter(ok(s), fields, opts);
      return r.ok ? "" : r.error;
    };
    expect(err("nope eq 1")).toContain('unknown field "nope"; fields: attributes, date_created');
    expect(err("attributes eq 1")).toContain('"attributes" is an object');
    expect(err("attributes.bogus eq 1", { jsonKeys: { attributes: ["conference_language"] } })).toContain(
      '"bogus" is not a key of attributes',
    );
    expect(err("size gt x")).toContain('"size" is a number');
    expect(err("name.x eq 1")).toContain('unknown field "name.x"');
  });
});
