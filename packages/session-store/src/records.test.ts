import { describe, expect, test } from "bun:test";
import { iso, normalizeCallPatch, normalizeMeetingPatch, normalizeRoleSet, toMs } from "./records.ts";

describe("records", () => {
  test.each([
    { input: "", expected: "" },
    { input: "lph", expected: "hpl" },
    { input: "lp", expected: "pl" },
    { input: "hh", expected: "h" },
  ])("normalizeRoleSet($input) = $expected", ({ input, expected }) => {
    expect(normalizeRoleSet(input)).toBe(expected);
  });

  test.each(["x", "H", "h p", "hpla"])("normalizeRoleSet rejects %p naming the field", (bad) => {
    expect(() => normalizeRoleSet(bad, "on_hold")).toThrow("on_hold: must be a set of the letters h, p and l");
  });

  test("dates are ISO 8601 with milliseconds and Z", () => {
    expect(iso(Date.UTC(2021, 8, 3, 14, 11, 55))).toBe("2021-09-03T14:11:55.000Z");
    expect(toMs("2021-09-03T14:11:55.250Z", "t")).toBe(Date.UTC(2021, 8, 3, 14, 11, 55, 250));
    expect(toMs(new Date(5), "t")).toBe(5);
    expect(() => toMs("soon", "call.date_created")).toThrow("call.date_created: not a valid time");
  });

  test("remembered ISO times stay right past the cache's bound and on repeats", () => {
    const base = Date.UTC(2024, 1, 29, 23, 59, 59, 999);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20_000; i += 7) expect(iso(base + i * 1013)).toBe(new Date(base + i * 1013).toISOString());
    }
  });

  test("patches keep only the given keys and check values", () => {
    expect(normalizeCallPatch({ muted: true, name: undefined })).toEqual({ muted: true });
    expect(() => normalizeCallPatch({ gain_level: Number.NaN })).toThrow("gain_level: must be an integer");
    expect(normalizeMeetingPatch({ on_hold: "lp", recording: false })).toEqual({ on_hold: "pl", recording: false });
    expect(() => normalizeMeetingPatch({ participant_muted: "maybe" as never })).toThrow(
      "participant_muted: must be one of false, relaxed, true",
    );
  });
});
