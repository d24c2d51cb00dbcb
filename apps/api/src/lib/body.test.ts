import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { fieldPath, isJsonContentType, zodIssuesToItems } from "./body.ts";

describe("isJsonContentType", () => {
  const cases: [string | undefined, boolean][] = [
    ["application/json", true],
    ["Application/JSON; charset=utf-8", true],
    ["application/merge-patch+json", true],
    ["text/plain", false],
    ["application/x-www-form-urlencoded", false],
    ["application/jsonp", false],
    [undefined, false],
  ];
  for (const [h, expected] of cases) test(String(h), () => expect(isJsonContentType(h)).toBe(expected));
});

describe("zodIssuesToItems", () => {
  const schema = z.strictObject({
    name: z.string().max(3).optional(),
    sid: z.string({ error: "must be a string or null" }).nullable().optional(),
    role: z.enum(["host", "listener"]).optional(),
    codes: z.array(z.strictObject({ code: z.string().regex(/^\d+$/, "digits only") })).optional(),
    attributes: z.strictObject({ a: z.string().optional() }).optional(),
  });
  test("one item per problem, each naming its field", () => {
    const r = schema.safeParse({
      name: 5,
      sid: 7,
      role: "boss",
      codes: [{ code: "x1" }],
      attributes: { zz: "1" },
      extra: true,
    });
    expect(r.success).toBe(false);
    if (!r.success) {
      expect(zodIssuesToItems(r.error)).toEqual([
        { field: "name", message: "must be a string", reference_sid: null },
        { field: "sid", message: "must be a string or null", reference_sid: null },
        { field: "role", message: "must be one of host, listener", reference_sid: null },
        { field: "codes[0].code", message: "digits only", reference_sid: null },
        { field: "attributes.zz", message: "unknown attribute", reference_sid: null },
        { field: "extra", message: "unknown field", reference_sid: null },
      ]);
    }
  });
  test("too long", () => {
    const r = schema.safeParse({ name: "abcd" });
    if (!r.success)
      expect(zodIssuesToItems(r.error)).toEqual([
        { field: "name", message: "must be at most 3 characters", reference_sid: null },
      ]);
  });
  test("fieldPath", () => {
    expect(fieldPath([])).toBeNull();
    expect(fieldPath(["a", 0, "b"])).toBe("a[0].b");
  });
});
