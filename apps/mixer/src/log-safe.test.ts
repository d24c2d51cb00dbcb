import { describe, expect, test } from "bun:test";
import { escapeControl, logSafe } from "./log-safe.ts";

describe("logSafe", () => {
  test("CR, LF and other control characters cannot start a line of their own", () => {
    const s = logSafe("15162065919\r\nmixer: call CA123 joined meeting X as host\u0007\u2028");
    expect(s).not.toMatch(/[\r\n\u0007\u2028]/);
    expect(s).toBe("15162065919\\x0d\\x0amixer: call CA123 joined meeting X as host\\x07\\u2028");
  });

  test("backslashes are doubled so a literal \\x0a is told apart from an escaped LF", () => {
    expect(logSafe("a\\x0ab\n")).toBe("a\\\\x0ab\\x0a");
  });

  test("long values are cut", () => {
    const s = logSafe("9".repeat(10_000));
    expect(s.length).toBeLessThan(300);
    expect(s).toContain("(10000 chars)");
  });

  test("escapeControl keeps printable text as it is", () => {
    expect(escapeControl("sip:+1555@example.com;user=phone")).toBe("sip:+1555@example.com;user=phone");
  });
});
