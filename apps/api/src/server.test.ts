import { afterAll, beforeAll, expect, test } from "bun:test";
import { invalidationChannel } from "@conf/access-router";
import { accountsRepo } from "@conf/db";
import { createTestDatabase, type TestDatabase } from "@conf/db/testing";
import { type Bus, createBus } from "@conf/session-store";
import { parseEnv } from "./lib/env.ts";
import { type RunningApi, startApi } from "./server.ts";

let api: RunningApi;
let testDb: TestDatabase;
let bus: Bus;

beforeAll(async () => {
  const env = parseEnv({ API_PORT: "0", API_HOST: "127.0.0.1" });
  if (!env.ok) throw new Error(env.error);
  testDb = await createTestDatabase({ kind: "pglite" });
  bus = createBus({ prefix: `servertest:${crypto.randomUUID()}:` });
  api = await startApi({ env: env.value, database: testDb.database, bus });
}, 60_000);

afterAll(async () => {
  await api.close();
  await bus.close();
  await testDb.drop();
});

test("serves over real HTTP with a generated admin token", async () => {
  expect(api.adminTokenGenerated).toBe(true);
  expect(api.adminToken.length).toBeGreaterThanOrEqual(32);
  expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await fetch(`${api.url}/core/v2/endpoints`, {
    method: "POST",
    headers: { Authorization: `Bearer ${api.adminToken}`, "Content-Type": "application/json" },
    body: '{"name":"my_conf","type":"conference"}',
  });
  expect(r.status).toBe(200);
  const ep = (await r.json()) as { properties: { login: string; password: string; api_url: string; account_sid: string } };
  expect(ep.properties.api_url).toBe(`${api.url}/conference/v2`);
  const auth = `Basic ${btoa(`${ep.properties.login}:${ep.properties.password}`)}`;
  const me = await fetch(`${ep.properties.api_url}/accounts/whoami`, { headers: { Authorization: auth } });
  expect(me.status).toBe(200);

  // A password changed elsewhere (another API instance) reaches this one over the bus:
  // the cached credential is dropped and the old password stops working.
  const repo = accountsRepo(testDb.database.db);
  await repo.update(ep.properties.account_sid, { password: "changed-elsewhere-1" });
  expect((await fetch(`${api.url}/conference/v2/accounts/whoami`, { headers: { Authorization: auth } })).status).toBe(200);
  // An ordinary config change keeps cached logins (no argon2id cost after every write)...
  await bus.publish(invalidationChannel, { kind: "account", accountSid: ep.properties.account_sid });
  await Bun.sleep(20);
  expect((await fetch(`${api.url}/conference/v2/accounts/whoami`, { headers: { Authorization: auth } })).status).toBe(200);
  // ...a credential change drops them.
  await bus.publish(invalidationChannel, { kind: "account", accountSid: ep.properties.account_sid, credentials: true });
  await Bun.sleep(20);
  expect((await fetch(`${api.url}/conference/v2/accounts/whoami`, { headers: { Authorization: auth } })).status).toBe(401);
  const fresh = `Basic ${btoa(`${ep.properties.login}:changed-elsewhere-1`)}`;
  expect((await fetch(`${api.url}/conference/v2/accounts/whoami`, { headers: { Authorization: fresh } })).status).toBe(200);
  // An unreadable message or `all` drops everything.
  await bus.publish(invalidationChannel, { kind: "all" });
  await Bun.sleep(20);
  await repo.update(ep.properties.account_sid, { password: "changed-again-22" });
  expect((await fetch(`${api.url}/conference/v2/accounts/whoami`, { headers: { Authorization: fresh } })).status).toBe(401);
});

test("close() is idempotent", async () => {
  const env = parseEnv({ API_PORT: "0", API_HOST: "127.0.0.1", ADMIN_TOKEN: "a-fixed-token-0123456789" });
  if (!env.ok) throw new Error(env.error);
  const other = await startApi({ env: env.value, database: testDb.database, bus });
  expect(other.adminTokenGenerated).toBe(false);
  expect(other.adminToken).toBe("a-fixed-token-0123456789");
  await Promise.all([other.close(), other.close()]);
});
