/**
 * Test harness for the route tests: a fresh database per run (in-memory PGlite and a
 * `conf_test_<random>` database on the local Postgres server), the app built over it,
 * two tenants (conference endpoints with their accounts) and a request helper.
 */
import { afterAll, beforeAll, describe } from "bun:test";
import { createTestDatabase, type TestDatabase } from "@conf/db";
import type { SessionStore } from "@conf/session-store";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createApp, type Publisher } from "./app.ts";
import type { AppEnv } from "./lib/context.ts";

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

/** Records what the app publishes. */
export class RecordingBus implements Publisher {
  readonly messages: { channel: string; message: unknown }[] = [];
  async publish(channel: string, message: unknown): Promise<number> {
    this.messages.push({ channel, message: structuredClone(message) });
    return 1;
  }
}

export interface RequestOptions {
  /** Authorization header; default the first tenant's Basic credential. `null`: none. */
  auth?: string | null;
  /** JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Harness {
  readonly kind: DbKind;
  readonly testDb: TestDatabase;
  readonly app: OpenAPIHono<AppEnv>;
  readonly bus: RecordingBus;
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
}

/** Builds a harness over a fresh database of `kind`. */
export async function createHarness(kind: DbKind, options: HarnessOptions = {}): Promise<Harness> {
  const testDb = await createTestDatabase({ kind });
  const bus = new RecordingBus();
  const app = createApp({
    database: testDb.database,
    adminToken: ADMIN_TOKEN,
    bus,
    publicUrl: options.publicUrl,
    sessionStore: options.sessionStore,
    onUnexpectedError: (e) => console.error("unexpected error in test app", e),
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
    return app.request(`http://api.test${path}`, { method, headers, body });
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
  return { kind, testDb, app, bus, a, b, request, json, tenant };
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
        await harness?.testDb.drop();
      });
      body(() => {
        if (!harness) throw new Error("harness not ready");
        return harness;
      });
    });
  }
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
