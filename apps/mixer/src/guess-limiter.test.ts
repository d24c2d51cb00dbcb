import { afterAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { GuessLimiter, guessKeys, RedisGuessStore, TrustedSources } from "./guess-limiter.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const none = new TrustedSources([]);
const direct = (sourceAddress: string, callerNumber: string | null = null, dialed = "15550001") =>
  guessKeys({ sourceAddress, callerNumber, assertedNumber: null, dialed }, none);

describe("GuessLimiter (in memory)", () => {
  test("wrong codes slow a source down past half the limit, then refuse it for the ban time", async () => {
    let now = 0;
    const g = new GuessLimiter({ limit: 4, banMs: 60_000, windowMs: 60_000 }, null, { now: () => now });
    const a = direct("192.0.2.1");
    expect(await g.check(a)).toEqual({ kind: "allow", delayMs: 0 });
    await g.wrong(a);
    expect(await g.check(a)).toEqual({ kind: "allow", delayMs: 0 });
    await g.wrong(a);
    expect(await g.check(a)).toEqual({ kind: "allow", delayMs: 1000 });
    await g.wrong(a);
    expect(await g.check(a)).toEqual({ kind: "allow", delayMs: 2000 });
    expect(await g.wrong(a)).toBe(true);
    expect(await g.check(a)).toEqual({ kind: "refuse", retryAfterMs: 60_000 });
    // Another source is not affected.
    expect(await g.check(direct("192.0.2.2"))).toEqual({ kind: "allow", delayMs: 0 });
    now = 60_001;
    expect(await g.check(a)).toEqual({ kind: "allow", delayMs: 0 });
  });

  test("a direct caller is keyed by its address: a new From user per call changes nothing", async () => {
    const g = new GuessLimiter({ limit: 3 });
    for (let i = 0; i < 3; i++) await g.wrong(direct("192.0.2.7", `+1555000${i}`));
    expect((await g.check(direct("192.0.2.7", "+15559999"))).kind).toBe("refuse");
  });

  test("through a trusted carrier, callers are keyed by the asserted number, never the carrier as a whole", async () => {
    const trusted = new TrustedSources(["198.51.100.0/24", "2001:db8::1"]);
    const g = new GuessLimiter({ limit: 3 });
    const via = (n: string, pai: string | null = null) =>
      guessKeys({ sourceAddress: "198.51.100.9", callerNumber: n, assertedNumber: pai, dialed: "15550001" }, trusted);
    for (let i = 0; i < 3; i++) await g.wrong(via("+15551110000"));
    expect((await g.check(via("+15551110000"))).kind).toBe("refuse");
    expect((await g.check(via("+15552220000"))).kind).toBe("allow");
    // P-Asserted-Identity wins over From.
    expect(via("+1999", "+15551110000").key).toBe("num:+15551110000");
    expect(trusted.has("2001:db8::1")).toBe(true);
    expect(trusted.has("198.51.101.1")).toBe(false);
    expect(() => new TrustedSources(["not-an-ip"])).toThrow();
  });

  test("a right code does not clear the count (a known code must not reset guessing)", async () => {
    const g = new GuessLimiter({ limit: 2 });
    const a = direct("192.0.2.3");
    await g.wrong(a);
    expect(await g.wrong(a)).toBe(true);
    expect((await g.check(a)).kind).toBe("refuse");
  });

  test("a spree on one number dialed from many sources slows its code checks, refuses nobody", async () => {
    const g = new GuessLimiter({ limit: 10, didLimit: 5, didDelayMs: 3000 });
    for (let i = 0; i < 5; i++) await g.wrong(direct(`192.0.2.${10 + i}`));
    expect(await g.check(direct("192.0.2.200"))).toEqual({ kind: "allow", delayMs: 3000 });
    expect(await g.check(direct("192.0.2.200", null, "15550002"))).toEqual({ kind: "allow", delayMs: 0 });
  });
});

describe("GuessLimiter over Redis", () => {
  const prefix = `test:guess:${crypto.randomUUID()}:`;
  const admin = new Redis(REDIS_URL);
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    admin.disconnect();
  });

  test("two nodes share the counts: guesses spread over nodes are refused together", async () => {
    const s1 = new RedisGuessStore(REDIS_URL, prefix);
    const s2 = new RedisGuessStore(REDIS_URL, prefix);
    expect(await s1.ready()).toBe(true);
    expect(await s2.ready()).toBe(true);
    const n1 = new GuessLimiter({ limit: 4 }, s1);
    const n2 = new GuessLimiter({ limit: 4 }, s2);
    const a = direct("192.0.2.50");
    await n1.wrong(a);
    await n2.wrong(a);
    await n1.wrong(a);
    expect(await n2.wrong(a)).toBe(true);
    const v = await n1.check(a);
    expect(v.kind).toBe("refuse");
    expect(await admin.pttl(`${prefix}guess:ban:src:192.0.2.50`)).toBeGreaterThan(0);
    await n1.close();
    await n2.close();
  });

  test("Redis unreachable: fails open to this node's memory within the timeout", async () => {
    // A port nobody listens on: connection refused, as when Redis is down.
    const probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const deadPort = probe.port;
    probe.close();
    const errors: unknown[] = [];
    const g = new GuessLimiter({ limit: 3 }, new RedisGuessStore(`redis://127.0.0.1:${deadPort}`, prefix, 200), {
      onStoreError: (e) => errors.push(e),
    });
    const a = direct("192.0.2.60");
    const t0 = performance.now();
    expect(await g.check(a)).toEqual({ kind: "allow", delayMs: 0 });
    await g.wrong(a);
    await g.wrong(a);
    expect(await g.wrong(a)).toBe(true);
    expect((await g.check(a)).kind).toBe("refuse");
    // Five operations, each bounded by 200 ms (generous budget for a busy machine).
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(errors.length).toBeGreaterThan(0);
    await g.close();
  });
});
