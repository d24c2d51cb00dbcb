/**
 * The read cache of started servers on PostgreSQL and Redis: two API instances sharing
 * the database and the Redis prefix, and what happens when an instance loses its
 * subscriber connections.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRepositories, type Repositories } from "@conf/db";
import { createTestDatabase, type TestDatabase } from "@conf/db/testing";
import { type Bus, createBus, createSessionStore, type SessionStore } from "@conf/session-store";
import { Redis } from "ioredis";
import { parseEnv } from "./lib/env.ts";
import { type RunningApi, startApi } from "./server.ts";
import { TEST_REDIS_URL } from "./testing.ts";

const prefix = `servercache:${crypto.randomUUID().slice(0, 8)}:`;
// Instance A's connections carry a name, so the test can find (and cut) exactly its
// subscriber connections on the shared server, which ioredis duplicates with the same
// name; they wait `reconnectDelayMs` before reconnecting, so the gap can be watched.
const nameA = `servercache-a-${crypto.randomUUID().slice(0, 8)}`;
let reconnectDelayMs = 50;
const connA = () => new Redis(TEST_REDIS_URL, { connectionName: nameA, retryStrategy: () => reconnectDelayMs });

let testDb: TestDatabase;
let repos: Repositories;
let a: RunningApi;
let b: RunningApi;
const owned: { close(): Promise<unknown> }[] = [];
const redisConns: Redis[] = [];
let storeA: SessionStore;
let busA: Bus;
let auth = "";
let accountSid = "";

function open(kind: "a" | "b"): { bus: Bus; sessionStore: SessionStore } {
  if (kind === "b") {
    return {
      bus: createBus({ redisUrl: TEST_REDIS_URL, prefix }),
      sessionStore: createSessionStore({ redisUrl: TEST_REDIS_URL, prefix }),
    };
  }
  const busConn = connA();
  const storeConn = connA();
  redisConns.push(busConn, storeConn);
  return { bus: createBus({ redis: busConn, prefix }), sessionStore: createSessionStore({ redis: storeConn, prefix }) };
}

beforeAll(async () => {
  const env = parseEnv({ API_PORT: "0", API_HOST: "127.0.0.1", ADMIN_TOKEN: "server-cache-token-0123456789" });
  if (!env.ok) throw new Error(env.error);
  testDb = await createTestDatabase({ kind: "postgres" });
  repos = createRepositories(testDb.database);
  const ia = open("a");
  const ib = open("b");
  storeA = ia.sessionStore;
  busA = ia.bus;
  owned.push(ia.bus, ia.sessionStore, ib.bus, ib.sessionStore);
  a = await startApi({ env: env.value, database: testDb.database, ...ia });
  b = await startApi({ env: env.value, database: testDb.database, ...ib });
  const r = await fetch(`${a.url}/core/v2/endpoints`, {
    method: "POST",
    headers: { Authorization: `Bearer ${a.adminToken}`, "Content-Type": "application/json" },
    body: '{"name":"cache_conf","type":"conference"}',
  });
  const ep = (await r.json()) as { properties: { login: string; password: string; account_sid: string } };
  auth = `Basic ${btoa(`${ep.properties.login}:${ep.properties.password}`)}`;
  accountSid = ep.properties.account_sid;
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  for (const o of owned) await o.close();
  for (const c of redisConns) c.disconnect();
  await testDb?.drop();
});

async function roomName(api: RunningApi, sid: string): Promise<string> {
  const r = await fetch(`${api.url}/conference/v2/meeting_rooms/${sid}`, { headers: { Authorization: auth } });
  return ((await r.json()) as { name: string }).name;
}

async function until(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

/** Cuts instance A's subscriber connections (the bus's and the store's). */
async function cutSubscribers(): Promise<void> {
  const admin = new Redis(TEST_REDIS_URL);
  try {
    const clients = ((await admin.client("LIST")) as string)
      .split("\n")
      .filter((l) => l.includes(`name=${nameA}`) && / sub=[1-9]/.test(l));
    const ids = clients.map((l) => l.match(/\bid=(\d+)/)?.[1]).filter((x): x is string => x !== undefined);
    expect(ids.length).toBe(2);
    for (const id of ids) await admin.client("KILL", "ID", id);
  } finally {
    admin.disconnect();
  }
}

test("a write through one instance reaches the other's cached page over Redis", async () => {
  const room = (await (
    await fetch(`${a.url}/conference/v2/meeting_rooms`, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/json" },
      body: '{"name":"v1"}',
    })
  ).json()) as { meeting_room_sid: string };
  const sid = room.meeting_room_sid;
  expect(await roomName(a, sid)).toBe("v1");
  // Changed behind both instances' backs: A keeps answering the page it read...
  await repos.meetingRooms.update(accountSid, sid, { name: "v2" });
  expect(await roomName(a, sid)).toBe("v1");
  // ...until a write through B announces the account's change on the bus.
  const patched = await fetch(`${b.url}/conference/v2/meeting_rooms/${sid}`, {
    method: "PATCH",
    headers: { Authorization: auth, "Content-Type": "application/json" },
    body: '{"name":"v3"}',
  });
  expect(patched.status).toBe(200);
  await until(async () => (await roomName(a, sid)) === "v3");
});

test("while its subscriber connections are down an instance serves nothing from its cache", async () => {
  const room = (await (
    await fetch(`${a.url}/conference/v2/meeting_rooms`, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/json" },
      body: '{"name":"d1"}',
    })
  ).json()) as { meeting_room_sid: string };
  const sid = room.meeting_room_sid;
  expect(await roomName(a, sid)).toBe("d1");
  await repos.meetingRooms.update(accountSid, sid, { name: "d2" });
  expect(await roomName(a, sid)).toBe("d1");

  reconnectDelayMs = 1500;
  await cutSubscribers();
  // Down: every read goes to the database, so changes nobody announced show at once.
  await until(async () => (await roomName(a, sid)) === "d2", 1000);
  await repos.meetingRooms.update(accountSid, sid, { name: "d3" });
  expect(await roomName(a, sid)).toBe("d3");
  await repos.meetingRooms.update(accountSid, sid, { name: "d4" });
  expect(await roomName(a, sid)).toBe("d4");
  reconnectDelayMs = 50;
  // A cut, a 1.5 s reconnect delay and the reads: more than bun's 5 s default on a loaded machine.
}, 20_000);

// Once skipped as a known bug ("in 1 run of 5 the instance never caches again although
// both subscriptions report live"). The cache did resume; the probe was wrong: it read
// one room over and over, so when caching resumed between its two reads, the second
// read cached "probe-2", and every later first read was that (correct, unannounced-change)
// cached body, never "probe". Each probe now reads a room it never read before, and the
// test starts only once the previous test's cut has reconnected.
test("after the subscriber connections come back, caching resumes from an empty cache", async () => {
  // The previous test's cut may still be reconnecting: start from connections that are up.
  await until(async () => busA.health.live && storeA.events.health.live, 5000);
  reconnectDelayMs = 1500;
  await cutSubscribers();
  await until(async () => !busA.health.live && !storeA.events.health.live, 1000);
  // Back (channels confirmed): caching resumes, from an empty cache.
  reconnectDelayMs = 50;
  let probes = 0;
  await until(async () => {
    // A room created behind the API's back (nothing announced), read once from the
    // database, renamed behind its back: a second read still naming it "probe" was cached.
    const room = await repos.meetingRooms.create(accountSid, { name: "probe" });
    if (!room.ok) throw new Error(room.error.message);
    const sid = room.value.meeting_room_sid;
    probes++;
    const first = await roomName(a, sid);
    await repos.meetingRooms.update(accountSid, sid, { name: "probe-2" });
    const cached = first === "probe" && (await roomName(a, sid)) === "probe";
    if (!cached) await Bun.sleep(50);
    return cached;
  }, 5000);
  expect(probes).toBeGreaterThan(1); // it did not cache before the reconnection
  // The store's events came back too: live pages are served again and dropped by events.
  expect(storeA.events.health.live).toBe(true);
}, 20_000);
