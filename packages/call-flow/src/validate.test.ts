import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ATTRIBUTE_KEYS, ATTRIBUTES, DEFAULT_ATTRIBUTES } from "./attributes.ts";
import { checkValue, validateOverrides } from "./validate.ts";

describe("validateOverrides", () => {
  const cases: { name: string; input: unknown; errors?: { field: string; message: string }[] }[] = [
    { name: "empty object", input: {} },
    { name: "on/off", input: { conference_entrytones: "off" } },
    { name: "role set", input: { call_announceparticipantcount: "pl" } },
    { name: "empty role set", input: { call_announceparticipantcount: "" } },
    { name: "keypad binding", input: { call_mute_dtmf_binding: "*0" } },
    { name: "seconds", input: { conference_stop_wait: "5" } },
    { name: "enum", input: { recording_method: "local" } },
    { name: "list", input: { call_moh_list: "default,beep" } },
    { name: "sip address", input: { recording_addr: "rec@127.0.0.1:5099" } },
    {
      name: "unknown key",
      input: { conference_colour: "blue" },
      errors: [{ field: "attributes.conference_colour", message: "unknown attribute" }],
    },
    {
      name: "bad on/off",
      input: { conference_entrytones: "yes" },
      errors: [{ field: "attributes.conference_entrytones", message: "must be on or off" }],
    },
    {
      name: "non-string value",
      input: { conference_stop_wait: 5 },
      errors: [{ field: "attributes.conference_stop_wait", message: "must be a string" }],
    },
    {
      name: "binding too long",
      input: { call_mute_dtmf_binding: "*1234" },
      errors: [{ field: "attributes.call_mute_dtmf_binding", message: "must be 1 to 4 keypad characters of 0-9, * and #" }],
    },
    {
      name: "repeated role letter",
      input: { call_announceparticipantcount: "hh" },
      errors: [{ field: "attributes.call_announceparticipantcount", message: "must not repeat a role letter" }],
    },
    {
      name: "bad enum",
      input: { conference_start_how: "last" },
      errors: [{ field: "attributes.conference_start_how", message: "must be one of first, moderator" }],
    },
    { name: "array", input: [], errors: [{ field: "attributes", message: "must be an object" }] },
    { name: "null", input: null, errors: [{ field: "attributes", message: "must be an object" }] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = validateOverrides(c.input);
      if (c.errors) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toEqual(c.errors);
      } else {
        expect(r).toEqual({ ok: true, value: c.input as object });
      }
    });
  }

  test("reports every bad key, not only the first", () => {
    const r = validateOverrides({ a: "1", conference_entrytones: "x", conference_exittones: "on" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.map((e) => e.field)).toEqual(["attributes.a", "attributes.conference_entrytones"]);
  });

  test("every seed default is valid for its own kind", () => {
    for (const key of ATTRIBUTE_KEYS) expect(checkValue(ATTRIBUTES[key], DEFAULT_ATTRIBUTES[key])).toBeNull();
  });

  test("property: valid keypad bindings are exactly 1-4 chars of 0-9*#", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (s) => {
        const ok = validateOverrides({ call_mute_dtmf_binding: s }).ok;
        expect(ok).toBe(/^[0-9*#]{1,4}$/.test(s));
      }),
    );
  });

  test("property: unknown keys are always rejected naming the key", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((k) => !(k in ATTRIBUTES) && k !== "__proto__"),
        (k) => {
          const r = validateOverrides({ [k]: "on" });
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error[0]?.field).toBe(`attributes.${k}`);
        },
      ),
    );
  });
});
