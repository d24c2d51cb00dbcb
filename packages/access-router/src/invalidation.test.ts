import { describe, expect, test } from "bun:test";
import { type Invalidation, parseInvalidation } from "./invalidation.ts";

describe("parseInvalidation", () => {
  const cases: { name: string; input: unknown; expected: Invalidation }[] = [
    { name: "account object", input: { kind: "account", accountSid: "a1" }, expected: { kind: "account", accountSid: "a1" } },
    {
      name: "account as JSON text",
      input: '{"kind":"account","accountSid":"a1"}',
      expected: { kind: "account", accountSid: "a1" },
    },
    { name: "all", input: { kind: "all" }, expected: { kind: "all" } },
    {
      name: "extra fields are dropped",
      input: { kind: "account", accountSid: "a1", x: 1 },
      expected: { kind: "account", accountSid: "a1" },
    },
    { name: "account without a SID drops everything", input: { kind: "account" }, expected: { kind: "all" } },
    { name: "empty SID drops everything", input: { kind: "account", accountSid: "" }, expected: { kind: "all" } },
    { name: "SID of the wrong type", input: { kind: "account", accountSid: 7 }, expected: { kind: "all" } },
    { name: "unknown kind", input: { kind: "did", didSid: "d1" }, expected: { kind: "all" } },
    { name: "unreadable text", input: "{nope", expected: { kind: "all" } },
    { name: "null", input: null, expected: { kind: "all" } },
    { name: "a number", input: 42, expected: { kind: "all" } },
  ];
  for (const c of cases) test(c.name, () => expect(parseInvalidation(c.input)).toEqual(c.expected));
});
