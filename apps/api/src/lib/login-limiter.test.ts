import { describe, expect, test } from "bun:test";
import { createLoginLimiter } from "./login-limiter.ts";

function limiter(over: { maxEntries?: number } = {}) {
  let t = 1_000_000;
  const l = createLoginLimiter({ failuresPerAddress: 6, failuresPerLogin: 3, windowMs: 60_000, now: () => t, ...over });
  return { l, advance: (ms: number) => (t += ms) };
}
const fail = (l: ReturnType<typeof createLoginLimiter>, address: string, login: string, n: number) => {
  for (let i = 0; i < n; i++) l.attempt(address, login);
};

describe("createLoginLimiter", () => {
  test("a pair is refused after its failures, for the rest of the window", () => {
    const { l, advance } = limiter();
    fail(l, "203.0.113.9", "alice", 2);
    expect(l.retryAfterMs("203.0.113.9", "alice")).toBe(0);
    fail(l, "203.0.113.9", "alice", 1);
    expect(l.retryAfterMs("203.0.113.9", "alice")).toBe(60_000);
    advance(45_000);
    expect(l.retryAfterMs("203.0.113.9", "alice")).toBe(15_000);
    advance(15_000);
    expect(l.retryAfterMs("203.0.113.9", "alice")).toBe(0);
  });
  test("the owner's own address is never locked by an attacker's failures on the login", () => {
    const { l } = limiter();
    fail(l, "203.0.113.9", "alice", 50);
    expect(l.retryAfterMs("203.0.113.9", "alice")).toBeGreaterThan(0);
    expect(l.retryAfterMs("198.51.100.1", "alice")).toBe(0);
  });
  test("an address spraying logins is refused for every login", () => {
    const { l } = limiter();
    for (let i = 0; i < 6; i++) l.attempt("203.0.113.9", `user${i}`);
    expect(l.retryAfterMs("203.0.113.9", "someone-else")).toBe(60_000);
    expect(l.retryAfterMs("198.51.100.1", "someone-else")).toBe(0);
  });
  test("a success takes its attempt back and forgets the pair", () => {
    const { l } = limiter();
    fail(l, "198.51.100.1", "alice", 2);
    l.attempt("198.51.100.1", "alice");
    l.succeeded("198.51.100.1", "alice");
    fail(l, "198.51.100.1", "alice", 2);
    expect(l.retryAfterMs("198.51.100.1", "alice")).toBe(0);
  });
  test("concurrent attempts count before they are answered", () => {
    const { l } = limiter();
    // Three guesses in flight, none answered yet: the fourth is already refused.
    fail(l, "203.0.113.9", "alice", 3);
    expect(l.retryAfterMs("203.0.113.9", "alice")).toBeGreaterThan(0);
  });
  test("memory is bounded: at most maxEntries counters, oldest dropped", () => {
    const { l } = limiter({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) l.attempt(`10.0.${i >> 8}.${i & 255}`, "x".repeat(1000));
    expect(l.size).toBeLessThanOrEqual(100);
  });
});
