import { describe, expect, test } from "bun:test";
import { createCredentialCache, parseBasic, type Principal, type VerifyLogin } from "./auth.ts";

const header = (login: string, password: string) => `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`;
const alice: Principal = { accountSid: "a1", login: "alice" };
const bob: Principal = { accountSid: "b2", login: "bob" };

function verifier(passwords: Record<string, [string, Principal]>) {
  const calls: string[] = [];
  const verify: VerifyLogin = async (login, password) => {
    calls.push(login);
    await Bun.sleep(1);
    const entry = passwords[login];
    return entry && entry[0] === password ? entry[1] : null;
  };
  return { verify, calls };
}

describe("parseBasic", () => {
  const cases: { name: string; input: string; expected: { login: string; password: string } | null }[] = [
    { name: "plain", input: header("u", "p"), expected: { login: "u", password: "p" } },
    { name: "password with colons", input: header("u", "p:q:r"), expected: { login: "u", password: "p:q:r" } },
    { name: "empty password", input: header("u", ""), expected: { login: "u", password: "" } },
    {
      name: "scheme case-insensitive",
      input: `basic ${Buffer.from("u:p").toString("base64")}`,
      expected: { login: "u", password: "p" },
    },
    { name: "no colon", input: `Basic ${Buffer.from("up").toString("base64")}`, expected: null },
    { name: "empty login", input: `Basic ${Buffer.from(":p").toString("base64")}`, expected: null },
    { name: "bearer", input: "Bearer abc", expected: null },
    { name: "garbage", input: "Basic !!!", expected: null },
  ];
  for (const c of cases) test(c.name, () => expect(parseBasic(c.input)).toEqual(c.expected));
});

describe("createCredentialCache", () => {
  test("verifies once, then answers from the cache", async () => {
    const { verify, calls } = verifier({ alice: ["pw", alice] });
    const cache = createCredentialCache();
    expect(await cache.authenticate(header("alice", "pw"), verify)).toEqual(alice);
    expect(await cache.authenticate(header("alice", "pw"), verify)).toEqual(alice);
    expect(calls).toEqual(["alice"]);
    expect(cache.size).toBe(1);
  });

  test("a cache hit costs microseconds", async () => {
    const { verify } = verifier({ alice: ["pw", alice] });
    const cache = createCredentialCache();
    const h = header("alice", "pw");
    await cache.authenticate(h, verify);
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await cache.authenticate(h, verify);
    expect((performance.now() - t0) / n).toBeLessThan(0.1);
  });

  test("wrong passwords are never cached (each is verified)", async () => {
    const { verify, calls } = verifier({ alice: ["pw", alice] });
    const cache = createCredentialCache();
    expect(await cache.authenticate(header("alice", "nope"), verify)).toBeNull();
    expect(await cache.authenticate(header("alice", "nope"), verify)).toBeNull();
    expect(calls).toEqual(["alice", "alice"]);
    expect(cache.size).toBe(0);
  });

  test("entries expire after the TTL", async () => {
    let now = 1_000;
    const { verify, calls } = verifier({ alice: ["pw", alice] });
    const cache = createCredentialCache({ ttlMs: 100, now: () => now });
    await cache.authenticate(header("alice", "pw"), verify);
    now += 99;
    await cache.authenticate(header("alice", "pw"), verify);
    expect(calls.length).toBe(1);
    now += 1;
    await cache.authenticate(header("alice", "pw"), verify);
    expect(calls.length).toBe(2);
  });

  test("dropAccount drops only that account's entries", async () => {
    const { verify, calls } = verifier({ alice: ["pw", alice], bob: ["pw2", bob] });
    const cache = createCredentialCache();
    await cache.authenticate(header("alice", "pw"), verify);
    await cache.authenticate(header("bob", "pw2"), verify);
    cache.dropAccount("a1");
    expect(cache.size).toBe(1);
    await cache.authenticate(header("alice", "pw"), verify);
    await cache.authenticate(header("bob", "pw2"), verify);
    expect(calls).toEqual(["alice", "bob", "alice"]);
  });

  test("a verification in flight during a drop is not cached (it may have checked the old password)", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let n = 0;
    const verify: VerifyLogin = async () => {
      n++;
      await gate;
      return alice;
    };
    const cache = createCredentialCache();
    const p = cache.authenticate(header("alice", "old"), verify);
    cache.dropAccount("a1");
    release();
    expect(await p).toEqual(alice);
    expect(cache.size).toBe(0);
  });

  test("concurrent first requests share one verification", async () => {
    const { verify, calls } = verifier({ alice: ["pw", alice] });
    const cache = createCredentialCache();
    const all = await Promise.all(Array.from({ length: 20 }, () => cache.authenticate(header("alice", "pw"), verify)));
    expect(all.every((p) => p?.accountSid === "a1")).toBe(true);
    expect(calls.length).toBe(1);
  });

  test("bounded: the oldest entry is evicted", async () => {
    const users = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`u${i}`, ["pw", { accountSid: `s${i}`, login: `u${i}` }] as [string, Principal]]),
    );
    const { verify, calls } = verifier(users);
    const cache = createCredentialCache({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) await cache.authenticate(header(`u${i}`, "pw"), verify);
    expect(cache.size).toBe(3);
    await cache.authenticate(header("u0", "pw"), verify);
    expect(calls.filter((c) => c === "u0").length).toBe(2);
    await cache.authenticate(header("u4", "pw"), verify);
    expect(calls.filter((c) => c === "u4").length).toBe(1);
  });

  test("ttl 0 disables caching; clear() empties", async () => {
    const { verify, calls } = verifier({ alice: ["pw", alice] });
    const off = createCredentialCache({ ttlMs: 0 });
    await off.authenticate(header("alice", "pw"), verify);
    await off.authenticate(header("alice", "pw"), verify);
    expect(calls.length).toBe(2);
    const on = createCredentialCache();
    await on.authenticate(header("alice", "pw"), verify);
    on.clear();
    expect(on.size).toBe(0);
  });
});
