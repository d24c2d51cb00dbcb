/**
 * `@conf/db/testing`: what tests of any workspace need from the database and nothing a
 * running service does, kept out of the production entry (`@conf/db`).
 */
import postgres from "postgres";
import { type Database, openDatabase } from "./client.ts";
import type { Repositories } from "./repos/index.ts";

export interface TestDatabase {
  readonly database: Database;
  /** Closes the database and, for Postgres, drops the per-run database. Idempotent. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** `postgres`: a fresh database on the server of `adminUrl`; `pglite`: in memory. */
  readonly kind: "postgres" | "pglite";
  /** Admin URL (default TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres). */
  readonly adminUrl?: string;
  /** postgres.js pool size of the opened database (default 4). */
  readonly maxConnections?: number;
}

/**
 * Budget of a hook that opens or drops a test database. bun gives hooks 5 s whatever
 * bunfig's `timeout` says, and opening PGlite (start-up plus migrations) took 6 to 9 s
 * while other test runs loaded this 2-core machine; pass it as the hook's second argument.
 * @example beforeAll(async () => { t = await createTestDatabase({ kind }); }, TEST_DATABASE_HOOK_TIMEOUT_MS);
 */
export const TEST_DATABASE_HOOK_TIMEOUT_MS = 60_000;

/** Admin URL for test databases, from TEST_DATABASE_URL. */
export function testAdminUrl(): string {
  return process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
}

/**
 * A migrated, seeded database for a test run: a new `conf_test_<random>` database on
 * the Postgres server, or an in-memory PGlite. Call `drop()` in `afterAll`.
 * @example
 * const t = await createTestDatabase({ kind: "pglite" });
 * afterAll(() => t.drop());
 */
export async function createTestDatabase(options: TestDatabaseOptions): Promise<TestDatabase> {
  if (options.kind === "pglite") {
    const database = await openDatabase({ dataDir: "memory://" });
    return { database, drop: () => database.close() };
  }
  const adminUrl = options.adminUrl ?? testAdminUrl();
  const name = `conf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let database: Database;
  try {
    database = await openDatabase({ url: url.toString(), maxConnections: options.maxConnections ?? 4 });
  } catch (e) {
    await dropDatabase(adminUrl, name);
    throw e;
  }
  let dropped: Promise<void> | undefined;
  return {
    database,
    drop: () => {
      dropped ??= database.close().then(() => dropDatabase(adminUrl, name));
      return dropped;
    },
  };
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * A fresh endpoint and its account for a test.
 * @example const { accountSid, endpointSid } = await newAccount(createRepositories(t.database));
 */
export async function newAccount(repos: Repositories, name = "conf"): Promise<{ endpointSid: string; accountSid: string }> {
  const r = await repos.endpoints.create({ name });
  if (!r.ok) throw new Error(r.error.message);
  return { endpointSid: r.value.endpoint_sid, accountSid: r.value.properties.account_sid };
}

/**
 * The value of a result that must be ok; throws the failure's message otherwise.
 * @example const room = must(await repos.meetingRooms.create(accountSid, { name: "r" }));
 */
export function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}
