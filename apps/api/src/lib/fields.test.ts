import { describe, expect, test } from "bun:test";
import { ApiError } from "./errors.ts";
import { parseFieldSelection, selectFields } from "./fields.ts";

const known = ["access_codes", "account_sid", "attributes", "did_group_sid", "meeting_room_sid", "name"];
const room = { access_codes: [], account_sid: "a", attributes: {}, did_group_sid: null, meeting_room_sid: "m", name: "N/A" };

describe("field filtering", () => {
  test("nothing asked: the object as is", () => {
    expect<object>(selectFields(room, parseFieldSelection({}, known))).toBe(room);
  });
  test("include_fields keeps only those", () => {
    expect<object>(selectFields(room, parseFieldSelection({ include_fields: "name,meeting_room_sid" }, known))).toEqual({
      meeting_room_sid: "m",
      name: "N/A",
    });
  });
  test("exclude_fields drops those, spaces and empty items ignored", () => {
    expect<object>(selectFields(room, parseFieldSelection({ exclude_fields: " access_codes , attributes,," }, known))).toEqual({
      account_sid: "a",
      did_group_sid: null,
      meeting_room_sid: "m",
      name: "N/A",
    });
  });
  test("both: include, then exclude", () => {
    expect<object>(
      selectFields(room, parseFieldSelection({ include_fields: "name,attributes", exclude_fields: "attributes" }, known)),
    ).toEqual({
      name: "N/A",
    });
  });
  test("an unknown field is a 400 naming it", () => {
    try {
      parseFieldSelection({ exclude_fields: "name,bogus" }, known);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(400);
      expect((e as ApiError).body).toEqual({
        message: "bad request",
        errors: [
          {
            field: "exclude_fields",
            message: `unknown field "bogus" in exclude_fields; fields: ${known.join(", ")}`,
            reference_sid: null,
          },
        ],
      });
    }
  });
});
