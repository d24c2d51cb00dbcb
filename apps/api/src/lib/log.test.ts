import { describe, expect, test } from "bun:test";
import { DrizzleQueryError } from "drizzle-orm";
import { describeError, safeJson } from "./log.ts";

const HASH = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

describe("describeError", () => {
  test("a failed query: its SQL text, never its parameters; the cause's code and wording without quoted values", () => {
    const cause = Object.assign(new Error('invalid input syntax for type uuid: "x\r\nFAKE LOG LINE"'), {
      name: "PostgresError",
      code: "22P02",
    });
    const err = new DrizzleQueryError('update "accounts" set "password_hash" = $1 where "login" = $2', [HASH, "alice"], cause);
    const text = safeJson(describeError(err));
    expect(text).not.toContain("argon2");
    expect(text).not.toContain("alice");
    expect(text).not.toContain("FAKE LOG LINE");
    expect(text).toContain('update \\"accounts\\" set \\"password_hash\\" = $1');
    expect(describeError(err).cause).toMatchObject({
      name: "PostgresError",
      code: "22P02",
      message: 'invalid input syntax for type uuid: "…"',
    });
  });
  test("secrets in any message are redacted", () => {
    const text = safeJson(describeError(new Error(`bad ${HASH} and Authorization: Basic YWxpY2U6c2VjcmV0 and Bearer abc.def`)));
    expect(text).not.toContain("argon2");
    expect(text).not.toContain("YWxpY2U6c2VjcmV0");
    expect(text).not.toContain("abc.def");
  });
  test("control characters, DEL, C1 and line separators come out escaped: one line", () => {
    const text = safeJson(describeError(new Error("a\r\nb\u0000c\u007fd\u0085e\u2028f")));
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(text).toContain("a\\r\\nb\\u0000c\\u007fd\\u0085e\\u2028f");
  });
  test("non-errors and cause cycles are bounded", () => {
    expect(describeError("boom")).toEqual({ name: "string" });
    const a: Error & { cause?: unknown } = new Error("a");
    a.cause = a;
    expect(() => safeJson(describeError(a))).not.toThrow();
  });
});
