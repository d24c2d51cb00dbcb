import { describe, expect, test } from "bun:test";
import { ApiError } from "./errors.ts";
import { checkReadOnly, dropNulls, jsonEqual, nestedObjectsMode, pickUpdatable } from "./patch.ts";

describe("jsonEqual", () => {
  const cases: [unknown, unknown, boolean][] = [
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1, 2], [2, 1], false],
    [null, null, true],
    [null, {}, false],
    ["1", 1, false],
    [{}, [], false],
  ];
  for (const [a, b, expected] of cases)
    test(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`, () => expect(jsonEqual(a, b)).toBe(expected));
});

describe("checkReadOnly", () => {
  const current = { account_sid: "a1", login: "x", name: "n" };
  test("absent or equal read-only fields pass", () => {
    checkReadOnly({ name: "m" }, current, ["account_sid", "login"]);
    checkReadOnly({ account_sid: "a1", login: "x", name: "m" }, current, ["account_sid", "login"]);
  });
  test("a different value is a 422 naming each field", () => {
    try {
      checkReadOnly({ account_sid: "zz", login: "y" }, current, ["account_sid", "login"]);
      throw new Error("no error");
    } catch (e) {
      expect((e as ApiError).status).toBe(422);
      expect((e as ApiError).body).toEqual({
        message: "object validation error",
        errors: [
          { field: "account_sid", message: "field is read only and cannot be changed", reference_sid: null },
          { field: "login", message: "field is read only and cannot be changed", reference_sid: null },
        ],
      });
    }
  });
  test("on create (no current object) any read-only field is refused", () => {
    expect(() => checkReadOnly({ meeting_room_sid: "m" }, null, ["meeting_room_sid"])).toThrow(ApiError);
  });
});

describe("pickUpdatable and dropNulls", () => {
  test("keeps only updatable fields, null included at the top level", () => {
    expect(pickUpdatable({ name: "x", call_flow_sid: null, login: "l" }, ["name", "call_flow_sid"], false)).toEqual({
      name: "x",
      call_flow_sid: null,
    });
  });
  test("merge keeps nulls in nested objects (they remove keys); replace drops them", () => {
    const body = { attributes: { a: null, b: "1" } };
    expect(pickUpdatable(body, ["attributes"], false)).toEqual({ attributes: { a: null, b: "1" } });
    expect(pickUpdatable(body, ["attributes"], true)).toEqual({ attributes: { b: "1" } });
  });
  test("dropNulls is recursive and leaves arrays alone", () => {
    expect(dropNulls({ a: null, b: { c: null, d: 1 }, e: [null] })).toEqual({ b: { d: 1 }, e: [null] });
  });
});

describe("nestedObjectsMode", () => {
  test("merge by default, replace when asked, 400 otherwise", () => {
    expect(nestedObjectsMode(undefined)).toBe("merge");
    expect(nestedObjectsMode("replace")).toBe("replace");
    expect(() => nestedObjectsMode("swap")).toThrow(ApiError);
  });
});
