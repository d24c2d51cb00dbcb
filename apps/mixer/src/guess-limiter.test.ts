import { describe, expect, test } from "bun:test";
import { GuessLimiter } from "./guess-limiter.ts";

describe("GuessLimiter", () => {
  test("wrong codes slow a caller down past half the limit, then refuse it for the ban time", () => {
    let now = 0;
    const g = new GuessLimiter({ limit: 4, banMs: 60_000, now: () => now });
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 0 });
    g.wrong("a");
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 0 });
    g.wrong("a");
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 1000 });
    g.wrong("a");
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 2000 });
    expect(g.wrong("a")).toBe(true);
    expect(g.check("a")).toEqual({ kind: "refuse", retryAfterMs: 60_000 });
    // Counted across calls: another number is not affected.
    expect(g.check("b")).toEqual({ kind: "allow", delayMs: 0 });
    now = 60_001;
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 0 });
  });

  test("a right code clears the count; old wrong codes are forgotten", () => {
    let now = 0;
    const g = new GuessLimiter({ limit: 4, banMs: 10_000, now: () => now });
    g.wrong("a");
    g.wrong("a");
    g.right("a");
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 0 });
    g.wrong("a");
    g.wrong("a");
    now = 20_000;
    expect(g.check("a")).toEqual({ kind: "allow", delayMs: 0 });
  });
});
