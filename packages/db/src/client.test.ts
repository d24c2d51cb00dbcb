import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILT_IN_CALL_FLOWS } from "@conf/call-flow";
import { asc, sql } from "drizzle-orm";
import { openDatabase, seedCallFlows } from "./client.ts";
import { callFlows } from "./schema/index.ts";
import { createTestDatabase, TEST_DATABASE_HOOK_TIMEOUT_MS, type TestDatabase } from "./testing.ts";

const TABLES = [
  "access_codes",
  "accounts",
  "call_flows",
  "did_groups",
  "dids",
  "endpoints",
  "meeting_rooms",
  "trunk_prefixes",
  "webhooks",
];
/** Every committed migration is applied once. */
const MIGRATIONS = (
  JSON.parse(await Bun.file(new URL("../drizzle/meta/_journal.json", import.meta.url)).text()) as { entries: unknown[] }
).entries.length;

async function tableNames(t: TestDatabase["database"]): Promise<string[]> {
  const rows = (await t.db.execute(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  )) as unknown as { table_name: string }[] | { rows: { table_name: string }[] };
  const list = Array.isArray(rows) ? rows : rows.rows;
  return list.map((r) => r.table_name);
}

for (const kind of ["postgres", "pglite"] as const) {
  describe(`openDatabase (${kind})`, () => {
    const opened: TestDatabase[] = [];
    afterAll(async () => {
      for (const t of opened) await t.drop();
    }, TEST_DATABASE_HOOK_TIMEOUT_MS);

    test("migrates every table and seeds the four built-in call flows", async () => {
      const t = await createTestDatabase({ kind });
      opened.push(t);
      expect(t.database.kind).toBe(kind);
      expect(await tableNames(t.database)).toEqual(TABLES);
      const flows = await t.database.db.select().from(callFlows).orderBy(asc(callFlows.name));
      expect(flows.map((f) => f.name)).toEqual(["direct_host", "direct_participant", "open", "secured"]);
      for (const f of BUILT_IN_CALL_FLOWS) {
        const row = flows.find((r) => r.callFlowSid === f.callFlowSid);
        expect(row?.attributes).toEqual({ ...f.attributes });
      }
    });

    test("seeding again is idempotent and restores edited built-ins", async () => {
      const t = opened[0]!;
      const { db } = t.database;
      await db.update(callFlows).set({ attributes: sql`${callFlows.attributes} || '{"conference_language":"DE"}'::jsonb` });
      await seedCallFlows(db);
      await seedCallFlows(db);
      const flows = await db.select().from(callFlows);
      expect(flows.length).toBe(4);
      for (const f of flows) expect(f.attributes.conference_language).toBe("EN");
    });

    test("close() is idempotent", async () => {
      const t = await createTestDatabase({ kind });
      await t.database.close();
      await t.database.close();
      await t.drop();
    });
  });
}

describe("openDatabase (pglite on disk)", () => {
  const dir = mkdtempSync(join(tmpdir(), "conf-db-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("persists data across reopen and re-runs migrations without error", async () => {
    const dataDir = join(dir, "pglite");
    const first = await openDatabase({ dataDir });
    await first.db.execute(sql`insert into endpoints (name, partner_sid) values ('kept', gen_random_uuid())`);
    await first.close();
    const second = await openDatabase({ dataDir });
    const rows = (await second.db.execute(sql`select name from endpoints`)) as unknown as { rows: { name: string }[] };
    expect(rows.rows.map((r) => r.name)).toEqual(["kept"]);
    const migrations = (await second.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`)) as unknown as {
      rows: { n: number }[];
    };
    expect(migrations.rows[0]?.n).toBe(MIGRATIONS);
    expect((await second.db.select().from(callFlows)).length).toBe(4);
    await second.close();
  });
});

describe("openDatabase errors", () => {
  test("an unreachable Postgres rejects", async () => {
    await expect(openDatabase({ url: "postgres://postgres@127.0.0.1:1/none" })).rejects.toThrow();
  });
});

describe("openDatabase (postgres, concurrent starters)", () => {
  test("three processes' worth of openDatabase on an empty database migrate once, without errors", async () => {
    const { testAdminUrl } = await import("./testing.ts");
    const postgres = (await import("postgres")).default;
    const adminUrl = testAdminUrl();
    const name = `conf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    try {
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ url: url.toString(), maxConnections: 1 })));
      const rows = (await dbs[0]!.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`)) as unknown as {
        n: number;
      }[];
      expect(rows[0]?.n).toBe(MIGRATIONS);
      expect((await dbs[0]!.db.select().from(callFlows)).length).toBe(4);
      for (const d of dbs) await d.close();
    } finally {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    }
  });
});
