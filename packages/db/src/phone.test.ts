import { describe, expect, test } from "bun:test";
import { formatPhoneNumber, normalizePhoneNumber } from "./phone.ts";

describe("formatPhoneNumber", () => {
  const cases = [
    {
      name: "US (the reference's sample)",
      input: "15162065919",
      expected: { countryCode: "USA", inCountryFormat: "(516) 206-5919", internationalFormat: "+1 516-206-5919" },
    },
    {
      name: "UK London",
      input: "442079460958",
      expected: { countryCode: "GBR", inCountryFormat: "020 7946 0958", internationalFormat: "+44 20 7946 0958" },
    },
    {
      name: "Germany Berlin",
      input: "4930123456",
      expected: { countryCode: "DEU", inCountryFormat: "030 123456", internationalFormat: "+49 30 123456" },
    },
    {
      name: "Germany mobile",
      input: "4915123456789",
      expected: { countryCode: "DEU", inCountryFormat: "01512 3456789", internationalFormat: "+49 1512 3456789" },
    },
    {
      name: "France",
      input: "33142685300",
      expected: { countryCode: "FRA", inCountryFormat: "01 42 68 53 00", internationalFormat: "+33 1 42 68 53 00" },
    },
    { name: "no country", input: "1", expected: { countryCode: null, inCountryFormat: "1", internationalFormat: "+1" } },
  ];
  for (const c of cases) test(c.name, () => expect(formatPhoneNumber(c.input)).toEqual(c.expected));
});

describe("normalizePhoneNumber", () => {
  const cases: { input: string; expected: string | null }[] = [
    { input: "15162065919", expected: "15162065919" },
    { input: "+1 (516) 206-5919", expected: "15162065919" },
    { input: " 44.20.7946.0958 ", expected: "442079460958" },
    { input: "", expected: null },
    { input: "++15162065919", expected: null },
    { input: "1516abc", expected: null },
    { input: "1234567890123456", expected: null },
  ];
  for (const c of cases) test(JSON.stringify(c.input), () => expect(normalizePhoneNumber(c.input)).toBe(c.expected));
});
