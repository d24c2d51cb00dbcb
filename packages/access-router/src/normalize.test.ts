import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { isAdhocCode, MAX_DIALED_DIGITS, normalizeCode, normalizeDialed } from "./normalize.ts";

describe("normalizeDialed", () => {
  const cases: { name: string; input: string; expected: string }[] = [
    { name: "plain digits", input: "15162065919", expected: "15162065919" },
    { name: "leading plus", input: "+15162065919", expected: "15162065919" },
    { name: "spaces and punctuation", input: " +1 (516) 206-5919 ", expected: "15162065919" },
    { name: "dots", input: "1.516.206.5919", expected: "15162065919" },
    { name: "tel URI with phone-context", input: "tel:+1-516-206-5919;phone-context=example.com", expected: "15162065919" },
    { name: "TEL scheme in capitals", input: "TEL:+15162065919", expected: "15162065919" },
    { name: "whole sip URI", input: "sip:15162065919@10.0.0.1:5060;user=phone", expected: "15162065919" },
    { name: "sips URI", input: "sips:+15162065919@host", expected: "15162065919" },
    { name: "percent-encoded plus", input: "%2B15162065919", expected: "15162065919" },
    { name: "URI parameters on the user part", input: "15162065919;npdi;rn=123", expected: "15162065919" },
    { name: "headers after ?", input: "15162065919?foo=bar", expected: "15162065919" },
    { name: "stray percent is kept and refused", input: "1516%zz", expected: "" },
    { name: "letters are not a number", input: "conference", expected: "" },
    { name: "vanity letters are not guessed", input: "1800FLOWERS", expected: "" },
    { name: "keypad star is not a number", input: "*67 15162065919", expected: "" },
    { name: "empty", input: "", expected: "" },
    { name: "only a plus", input: "+", expected: "" },
    { name: "only a scheme", input: "tel:", expected: "" },
    { name: "two plus signs", input: "++15162065919", expected: "" },
    { name: "too long", input: "1".repeat(MAX_DIALED_DIGITS + 1), expected: "" },
    { name: "longest allowed", input: "1".repeat(MAX_DIALED_DIGITS), expected: "1".repeat(MAX_DIALED_DIGITS) },
  ];
  for (const c of cases) test(c.name, () => expect(normalizeDialed(c.input)).toBe(c.expected));

  test("property: any formatting of a number normalizes to its digits", () => {
    const digits = fc.stringMatching(/^[0-9]{1,15}$/);
    const sep = fc.constantFrom("", " ", "-", ".", "(", ")");
    fc.assert(
      fc.property(
        digits,
        fc.array(sep, { minLength: 15, maxLength: 15 }),
        fc.boolean(),
        fc.constantFrom("", "tel:", "sip:"),
        (d, seps, plus, scheme) => {
          const formatted = [...d].map((ch, i) => ch + (seps[i] ?? "")).join("");
          const host = scheme === "sip:" ? "@example.com;user=phone" : "";
          expect(normalizeDialed(`${scheme}${plus ? "+" : ""}${formatted}${host}`)).toBe(d);
        },
      ),
    );
  });

  test("property: the result is empty or only digits", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (s) => {
        expect(normalizeDialed(s)).toMatch(/^[0-9]*$/);
      }),
    );
  });
});

describe("normalizeCode", () => {
  const cases: { name: string; input: string; expected: string }[] = [
    { name: "digits", input: "890671", expected: "890671" },
    { name: "trailing pound", input: "890671#", expected: "890671" },
    { name: "whitespace around", input: "  890671# ", expected: "890671" },
    { name: "only pound", input: "#", expected: "" },
    { name: "empty", input: "", expected: "" },
    { name: "inner space", input: "890 671", expected: "" },
    { name: "control character", input: "8906\u000171", expected: "" },
    { name: "star kept", input: "*123", expected: "*123" },
    { name: "too long", input: "1".repeat(65), expected: "" },
  ];
  for (const c of cases) test(c.name, () => expect(normalizeCode(c.input)).toBe(c.expected));
});

describe("isAdhocCode", () => {
  const cases: { name: string; input: string; expected: boolean }[] = [
    { name: "digits", input: "424242", expected: true },
    { name: "star", input: "12*3", expected: true },
    { name: "letters", input: "12ab", expected: false },
    { name: "colon would break the key", input: "1:2", expected: false },
    { name: "33 keys is too long", input: "1".repeat(33), expected: false },
  ];
  for (const c of cases) test(c.name, () => expect(isAdhocCode(c.input)).toBe(c.expected));
});
