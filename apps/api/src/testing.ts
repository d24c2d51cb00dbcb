/**
 * Test harness for the route tests: a fresh database per run (in-memory PGlite and a
 * `conf_test_<random>` database on the local Postgres server), the app built over it,
 * two tenants (conference endpoints with their accounts) and a request helper.
 */
import { afterAll, beforeAll, describe } from "bun:test";
import { createAccessRouter } from "@conf/access-router";
import { createConfigReader } from "@conf/db";
import { createTestDatabase, type TestDatabase } from "@conf/db/testing";
import {
  type Bus,
  type Call,
  type ControlMessage,
  createBus,
  createSessionStore,
  type Meeting,
  type SessionStore,
} from "@conf/session-store";
import { Redis } from "ioredis";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AppDeps, createApp, type Publisher } from "./app.ts";
import type { AppEnv } from "./lib/context.ts";
import { connectReadCache, createReadCache, type ReadCache, type ReadCacheOptions } from "./lib/read-cache.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const DB_KINDS = ["pglite", "postgres"] as const;
export type DbKind = (typeof DB_KINDS)[number];

/** A conference endpoint created through the operator route, with its credentials. */
export interface Tenant {
  readonly endpointSid: string;
  readonly accountSid: string;
  readonly login: string;
  readonly password: string;
  /** `Authorization` header value. */
  readonly auth: string;
}

/** Records what the app publishes, and passes it on to `bus` when given (as a real bus would deliver it). */
export class RecordingBus implements Publisher {
  readonly messages: { channel: string; message: unknown }[] = [];
  readonly #bus: Bus | undefined;
  constructor(bus?: Bus) {
    this.#bus = bus;
  }
  async publish(channel: string, message: unknown): Promise<number> {
    this.messages.push({ channel, message: structuredClone(message) });
    if (this.#bus) await this.#bus.publish(channel, message);
    return 1;
  }
}

export interface RequestOptions {
  /** Authorization header; default the first tenant's Basic credential. `null`: none. */
  auth?: string | null;
  /** JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The client address the app sees (as Bun's `server.requestIP()` reports it); default unknown. */
  address?: string;
}

export interface Harness {
  readonly kind: DbKind;
  readonly testDb: TestDatabase;
  readonly app: OpenAPIHono<AppEnv>;
  readonly bus: RecordingBus;
  /**
   * The in-process bus the app's invalidations go through, to which its read cache
   * listens (another instance's writes can be simulated by publishing here).
   */
  readonly invalidations: Bus;
  /** The app's read cache, connected to `invalidations` and to the store's events. */
  readonly readCache: ReadCache;
  readonly a: Tenant;
  readonly b: Tenant;
  /** Sends a request to the app; JSON bodies get `Content-Type: application/json`. */
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** The same, returning status and parsed JSON (null for an empty body). */
  json<T = any>(method: string, path: string, options?: RequestOptions): Promise<{ status: number; body: T; headers: Headers }>;
  /** Creates another tenant. */
  tenant(name: string): Promise<Tenant>;
}

export function basicHeader(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`;
}

export interface HarnessOptions {
  publicUrl?: string;
  sessionStore?: SessionStore;
  /** Options of the app's read cache (e.g. a clock). */
  readCache?: ReadCacheOptions;
  /** More of the app's dependencies (limits, webhooks). */
  appDeps?: Partial<AppDeps>;
}

/** Builds a harness over a fresh database of `kind`. */
export async function createHarness(kind: DbKind, options: HarnessOptions = {}): Promise<Harness> {
  const testDb = await createTestDatabase({ kind });
  // Every route test runs with the read cache on, as a started server has it.
  const invalidations = createBus({ prefix: `apitest-bus:${crypto.randomUUID()}:` });
  const bus = new RecordingBus(invalidations);
  const readCache = createReadCache(options.readCache);
  await connectReadCache(readCache, { bus: invalidations, events: options.sessionStore?.events });
  const app = createApp({
    // No access log unless a test asks for one (it would print every request).
    log: false,
    ...options.appDeps,
    database: testDb.database,
    adminToken: ADMIN_TOKEN,
    bus,
    readCache,
    publicUrl: options.publicUrl,
    sessionStore: options.sessionStore,
    logError: (line) => console.error("unexpected error in test app", line),
  });
  let defaultAuth: string | null = null;

  async function request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const auth = opts.auth === undefined ? defaultAuth : opts.auth;
    if (auth) headers.Authorization = auth;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
    }
    const env =
      opts.address === undefined ? undefined : { requestIP: () => ({ address: opts.address, family: "IPv4", port: 40000 }) };
    return app.request(`http://api.test${path}`, { method, headers, body }, env);
  }

  async function json(method: string, path: string, opts: RequestOptions = {}) {
    const res = await request(method, path, opts);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }

  async function tenant(name: string): Promise<Tenant> {
    const r = await json("POST", "/core/v2/endpoints", {
      auth: `Bearer ${ADMIN_TOKEN}`,
      body: { name, type: "conference" },
    });
    if (r.status !== 200) throw new Error(`creating endpoint failed: ${r.status} ${JSON.stringify(r.body)}`);
    const p = r.body.properties;
    return {
      endpointSid: r.body.endpoint_sid,
      accountSid: p.account_sid,
      login: p.login,
      password: p.password,
      auth: basicHeader(p.login, p.password),
    };
  }

  const a = await tenant("tenant_a");
  const b = await tenant("tenant_b");
  defaultAuth = a.auth;
  bus.messages.length = 0;
  return { kind, testDb, app, bus, invalidations, readCache, a, b, request, json, tenant };
}

/**
 * Runs `body` once per database kind, each with its own fresh database and harness.
 * @example forEachDatabase((h) => { test("x", async () => { expect((await h().json("GET", "/conference/v2/accounts")).status).toBe(200) }) })
 */
export function forEachDatabase(body: (h: () => Harness) => void, options: HarnessOptions = {}): void {
  for (const kind of DB_KINDS) {
    describe(kind, () => {
      let harness: Harness | undefined;
      beforeAll(async () => {
        harness = await createHarness(kind, options);
      }, 60_000);
      afterAll(async () => {
        await harness?.invalidations.close();
        await harness?.testDb.drop();
      });
      body(() => {
        if (!harness) throw new Error("harness not ready");
        return harness;
      });
    });
  }
}

/**
 * A fresh PGlite database for the enclosing describe block: created before its tests,
 * dropped after them. Call it inside `describe`.
 * @example const db = blockDatabase(); test("x", () => createApp({ database: db().database, adminToken: ADMIN_TOKEN }));
 */
export function blockDatabase(): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase({ kind: "pglite" });
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error("database not ready");
    return db;
  };
}

/** A DID assigned to a tenant through the operator route. */
export async function assignDid(h: Harness, tenant: Tenant, phonenumber: string): Promise<any> {
  const r = await h.json("POST", "/core/v2/dids", {
    auth: `Bearer ${ADMIN_TOKEN}`,
    body: { phonenumber, endpoint_sid: tenant.endpointSid },
  });
  if (r.status !== 200) throw new Error(`assigning DID failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// ---------------------------------------------------------------------------
// The live plane: a session store (in-process or Redis), the access router over the
// test database, and a stand-in for the mixer node that records control messages.

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379";
export const LIVE_PLANES = [
  { db: "pglite", store: "memory" },
  { db: "postgres", store: "redis" },
] as const;
export type LivePlane = (typeof LIVE_PLANES)[number];

/** The node ID the stand-in mixer joins calls as. */
export const NODE_ID = "node-test-1";

export interface LiveHarness extends Harness {
  readonly store: SessionStore;
  /** Control messages received by the stand-in mixer node, in order. */
  readonly control: ControlMessage[];
  /**
   * Dials `dialed` and enters `code`, as the mixer does: route, admit, join. Returns the
   * store's answer.
   */
  dialIn(
    dialed: string,
    code: string | null,
    call?: { name?: string; number_src?: string },
  ): Promise<{ call: Call; meeting: Meeting }>;
}

export interface LiveHarnessOptions {
  /** The clock of the store and of the read cache (ms since the epoch); default `Date.now`. */
  clock?: () => number;
  /** More of the app's dependencies (limits, webhooks). */
  appDeps?: Partial<AppDeps>;
}

export async function createLiveHarness(
  plane: LivePlane,
  options: LiveHarnessOptions = {},
): Promise<{ live: LiveHarness; cleanup(): Promise<void> }> {
  const prefix = `apitest:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
  const store = createSessionStore({
    redisUrl: plane.store === "redis" ? TEST_REDIS_URL : undefined,
    prefix,
    clock: options.clock,
  });
  const h = await createHarness(plane.db, { sessionStore: store, readCache: { now: options.clock }, appDeps: options.appDeps });
  const router = createAccessRouter({ config: createConfigReader(h.testDb.database), cacheTtlMs: 0 });
  const control: ControlMessage[] = [];
  const unsubscribe = await store.control.subscribe(NODE_ID, (m) => {
    control.push(m);
  });

  async function dialIn(dialed: string, code: string | null, call: { name?: string; number_src?: string } = {}) {
    const inbound = { dialed, caller: call.number_src ?? "17605692222", transport: "udp" as const };
    const routed = await router.route(inbound);
    const decision = routed.kind === "prompt" && code !== null ? await router.admit(routed.context, code) : routed;
    if (decision.kind !== "join") throw new Error(`call refused: ${JSON.stringify(decision)}`);
    const joined = await store.join({
      meetingKey: decision.meetingKey,
      accountSid: decision.accountSid,
      meetingRoomSid: decision.meetingRoomSid,
      nodeId: NODE_ID,
      call: {
        access_code: decision.accessCode ?? "",
        codecs: "PCMU",
        number_src: `<sip:+${inbound.caller}@55.66.77.88`,
        number_dst: `"${dialed}" <sip:${dialed}@11.22.33.44>`,
        name: call.name ?? "",
        direction: "In",
        role: decision.role,
      },
    });
    if (!joined.ok) throw new Error(`join refused: ${joined.reason}`);
    return { call: joined.call, meeting: joined.meeting };
  }

  return {
    live: { ...h, store, control, dialIn },
    async cleanup() {
      for (const account of [h.a, h.b]) {
        for (const m of await store.listMeetings(account.accountSid)) await store.endMeeting(m.meeting_sid);
      }
      await unsubscribe();
      await store.close();
      await h.invalidations.close();
      await h.testDb.drop();
      if (plane.store === "redis") await deleteRedisKeys(TEST_REDIS_URL, prefix);
    },
  };
}

/** Deletes every key starting with `prefix` from the Redis at `url` (SCAN is fine here: tests and benches only). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Runs `body` once per live plane (PGlite + in-process store, Postgres + Redis). */
export function forEachLivePlane(body: (h: () => LiveHarness) => void, options: LiveHarnessOptions = {}): void {
  for (const plane of LIVE_PLANES) {
    describe(`${plane.db}+${plane.store}`, () => {
      let ctx: { live: LiveHarness; cleanup(): Promise<void> } | undefined;
      beforeAll(async () => {
        ctx = await createLiveHarness(plane, options);
      }, 60_000);
      afterAll(async () => {
        await ctx?.cleanup();
      });
      body(() => {
        if (!ctx) throw new Error("harness not ready");
        return ctx.live;
      });
    });
  }
}

/** Waits (bounded) until `check` holds; pub/sub delivery is asynchronous. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}
