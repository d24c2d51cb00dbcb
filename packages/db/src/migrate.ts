/**
 * Applies the committed migrations and the call-flow seed, then exits: non-zero on any
 * error. `bun run db:migrate` at the repository root runs it; with DATABASE_URL set it
 * migrates that Postgres, otherwise the PGlite data under PGLITE_DIR (default
 * `.data/pglite` relative to the current directory).
 */
import { openDatabase } from "./client.ts";

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL || undefined;
  const dataDir = process.env.PGLITE_DIR || undefined;
  const database = await openDatabase({ url, dataDir });
  await database.close();
  console.log(`migrations applied (${database.kind}${url ? "" : `, ${dataDir ?? ".data/pglite"}`})`);
}

if (import.meta.main) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error("migration failed:", e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
