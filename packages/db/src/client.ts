import { mkdirSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { BUILT_IN_CALL_FLOWS } from "@conf/call-flow";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema/index.ts";

/** The tables of the schema, as drizzle sees them. */
export type Schema = typeof schema;

/**
 * The drizzle API both drivers share (postgres.js and PGlite). Callers write queries
 * against this type only, so the same code runs on either.
 */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/** A transaction handle or the database itself: repositories accept either. */
export type DbOrTx = Db | Parameters<Parameters<Db["transaction"]>[0]>[0];

/** Options of {@link RawQuery}. */
export interface RawQueryOptions {
  /**
   * Run it as a named prepared statement (postgres.js): the server parses and plans it
   * once per pooled connection instead of on every call. Only for statement texts from a
   * small fixed set: each distinct text stays prepared on every connection for the
   * connection's lifetime, so texts built from user input (filters) must not be prepared.
   * PGlite has no named statements and ignores it.
   */
  readonly prepare?: boolean;
}

/**
 * Runs one compiled statement (`$1`-style parameters) and resolves to its rows as objects
 * keyed by column name, json/jsonb parsed, the same on both drivers.
 */
export type RawQuery = (
  text: string,
  params: readonly unknown[],
  options?: RawQueryOptions,
) => Promise<Record<string, unknown>[]>;

/** An open configuration database. */
export interface Database {
  /** The drizzle instance (`PgDatabase`), identical in use for both drivers. */
  readonly db: Db;
  /** Which driver is underneath. */
  readonly kind: "postgres" | "pglite";
  /**
   * A compiled statement on the driver directly, for hot paths: drizzle sends every query
   * unnamed, so the server re-plans it each time (planning the meeting-room page cost
   * ~0.7 ms of server CPU per request); with `prepare` it is planned once per connection.
   */
  readonly rawQuery: RawQuery;
  /** Ends the connection pool or closes PGlite. Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A `postgres://` URL: use postgres.js. Unset: embedded PGlite. */
  readonly url?: string;
  /**
   * PGlite data directory, relative to the current directory (default `.data/pglite`).
   * `memory://` keeps everything in memory (tests). Ignored when `url` is set.
   */
  readonly dataDir?: string;
  /** postgres.js pool size (default {@link DEFAULT_MAX_CONNECTIONS}). */
  readonly maxConnections?: number;
}

/** Where the committed drizzle-kit migrations live. */
export const MIGRATIONS_FOLDER = resolvePath(import.meta.dir, "../drizzle");

/** Default PGlite data directory, relative to the current directory. */
export const DEFAULT_PGLITE_DIR = ".data/pglite";

/**
 * Default postgres.js pool size. Few connections, because postgres.js pipelines the
 * queries waiting for one connection into one socket write, and on loopback each write
 * also pays the server's receive: with 32 requests in flight on 2 cores, 4 connections
 * gave ~9.4k meeting-room lists/s at ~90 us of API CPU and ~50 us of Postgres CPU each,
 * 10 connections ~7.4k at ~108 and ~68 us. 2 did about as well as 4, but a transaction
 * holds its connection for several round trips and would stall every read behind it.
 */
export const DEFAULT_MAX_CONNECTIONS = 4;

/** An arbitrary constant: the advisory lock that serializes migrations of concurrent starters. */
const MIGRATION_LOCK_KEY = 7_447_001;

/**
 * Opens the configuration database, applies pending migrations and seeds the built-in
 * call flows (idempotently: re-running only refreshes their name and attributes).
 * @example
 * const database = await openDatabase({ url: process.env.DATABASE_URL });
 * const rows = await database.db.select().from(accounts);
 * await database.close();
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  return openPglite(options.dataDir ?? DEFAULT_PGLITE_DIR);
}

async function openPostgres(url: string, max: number): Promise<Database> {
  await migratePostgresUrl(url);
  const client = postgres(url, { max, onnotice: () => {} });
  const db = drizzlePostgres({ client, schema }) as unknown as Db;
  const rawQuery: RawQuery = (text, params, options = {}) =>
    client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: options.prepare === true }) as unknown as Promise<
      Record<string, unknown>[]
    >;
  return { db, kind: "postgres", rawQuery, close: once(() => client.end({ timeout: 5 })) };
}

/**
 * Applies migrations and the seed over one dedicated connection that holds an advisory
 * lock, so an API and a mixer starting together do not race on the same migration.
 */
export async function migratePostgresUrl(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const db = drizzlePostgres({ client, schema });
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    try {
      await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
      await seedCallFlows(db as unknown as Db);
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}

async function openPglite(dataDir: string): Promise<Database> {
  let location = dataDir;
  if (!dataDir.startsWith("memory://")) {
    location = resolvePath(process.cwd(), dataDir);
    mkdirSync(location, { recursive: true });
  }
  const client = new PGlite(location);
  try {
    const pdb = drizzlePglite({ client, schema });
    await migratePglite(pdb, { migrationsFolder: MIGRATIONS_FOLDER });
    const db = pdb as unknown as Db;
    await seedCallFlows(db);
    const rawQuery: RawQuery = async (text, params) =>
      (await client.query<Record<string, unknown>>(text, params as unknown[])).rows;
    return { db, kind: "pglite", rawQuery, close: once(() => client.close()) };
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
}

/** Inserts or refreshes the four built-in call flows under their stable SIDs. */
export async function seedCallFlows(db: Db): Promise<void> {
  for (const flow of BUILT_IN_CALL_FLOWS) {
    await db
      .insert(schema.callFlows)
      .values({ callFlowSid: flow.callFlowSid, name: flow.name, attributes: { ...flow.attributes } })
      .onConflictDoUpdate({
        target: schema.callFlows.callFlowSid,
        set: { name: flow.name, attributes: { ...flow.attributes } },
      });
  }
}

function once(fn: () => Promise<unknown>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn().then(() => {});
    return done;
  };
}
