/**
 * The API when its live store does not answer: a redis-server of this test's own is
 * frozen (SIGSTOP) or killed, and the live routes answer 503 in the reference's error
 * shape within the command timeout instead of hanging; they answer 200 again once Redis
 * is back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "@conf/db/testing";
import { OwnRedis } from "@conf/session-store/testing/redis-server";
import { parseEnv } from "./lib/env.ts";
import { type RunningApi, startApi } from "./server.ts";

let redis: OwnRedis;
let testDb: TestDatabase;
let api: RunningApi;
let auth = "";

beforeAll(async () => {
  redis = await OwnRedis.start();
  testDb = await createTestDatabase({ kind: "postgres" });
  const env = parseEnv({
    API_PORT: "0",
    API_HOST: "127.0.0.1",
    ADMIN_TOKEN: "store-unavailable-token-0123456789",
    REDIS_URL: redis.url,
    REDIS_PREFIX: `unavail:${crypto.randomUUID().slice(0, 8)}:`,
    REDIS_COMMAND_TIMEOUT_MS: "500",
  });
  if (!env.ok) throw new Error(env.error);
  api = await startApi({ env: env.value, database: testDb.database });
  const r = await fetch(`${api.url}/core/v2/endpoints`, {
    method: "POST",
    headers: { Authorization: `Bearer ${api.adminToken}`, "Content-Type": "application/json" },
    body: '{"name":"unavail_conf","type":"conference"}',
  });
  const ep = (await r.json()) as { properties: { login: string; password: string } };
  auth = `Basic ${btoa(`${ep.properties.login}:${ep.properties.password}`)}`;
}, 60_000);

afterAll(async () => {
  redis?.thaw();
  await api?.close();
  await testDb?.drop();
  await redis?.stop();
});

const UNAVAILABLE = {
  message: "service unavailable",
  errors: [{ field: null, message: "the live session store did not answer; try again later", reference_sid: null }],
};

async function get(path: string): Promise<{ status: number; body: unknown; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${api.url}${path}`, { headers: { Authorization: auth } });
  return { status: r.status, body: await r.json(), ms: performance.now() - t0 };
}

async function untilOk(path: string): Promise<void> {
  const end = Date.now() + 10_000;
  while ((await get(path)).status !== 200) {
    if (Date.now() > end) throw new Error(`${path} never answered 200`);
    await Bun.sleep(100);
  }
}

test("Redis frozen: GET /calls, /meetings and a meeting answer 503 within 2 s; 200 after SIGCONT", async () => {
  // Another URL: a page this instance cached may still be answered from its read cache
  // (its subscriptions look alive to it), which is not what this test is about.
  expect((await get("/conference/v2/calls?limit=1")).status).toBe(200);
  redis.freeze();
  try {
    for (const path of [
      "/conference/v2/calls",
      "/conference/v2/meetings",
      "/conference/v2/meetings/7a2b6f9e-0c4e-4e55-9f0e-2b9f4d6c1a11",
    ]) {
      const r = await get(path);
      expect([r.status, r.body]).toEqual([503, UNAVAILABLE]);
      expect(r.ms).toBeLessThan(2000);
    }
  } finally {
    redis.thaw();
  }
  await untilOk("/conference/v2/calls");
}, 30_000);

test("Redis down: 503 within 2 s; 200 once it is back", async () => {
  await redis.kill();
  try {
    const r = await get("/conference/v2/calls");
    expect([r.status, r.body]).toEqual([503, UNAVAILABLE]);
    expect(r.ms).toBeLessThan(2000);
  } finally {
    await redis.restart();
  }
  await untilOk("/conference/v2/calls");
}, 30_000);
