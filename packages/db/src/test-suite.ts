/**
 * The per-database setup of this package's repository tests: kept out of `testing.ts`
 * (`@conf/db/testing`) because it registers `bun:test` hooks, which bench scripts that
 * import that entry must not.
 */
import { afterAll, beforeAll, describe } from "bun:test";
import type { Database } from "./client.ts";
import { createRepositories, type EndpointsOptions, type Repositories } from "./repos/index.ts";
import { createTestDatabase, TEST_DATABASE_HOOK_TIMEOUT_MS, type TestDatabase } from "./testing.ts";

/** What the tests of a suite reach: set before its first test runs, not while `describe` collects them. */
export interface SuiteDatabase {
  readonly database: Database;
  readonly repos: Repositories;
}

/**
 * One `describe` per database kind (a fresh Postgres database, an in-memory PGlite),
 * each opening its database and repositories before its tests and dropping it after
 * them. A suite's own `beforeAll` runs after the database is open.
 * @example describeEachDatabase("meeting rooms", (suite) => { test("create", async () => { await newAccount(suite.repos); }); });
 */
export function describeEachDatabase(title: string, body: (suite: SuiteDatabase) => void): void;
/** The same with the repositories' options (e.g. the endpoints' `apiUrl`). */
export function describeEachDatabase(title: string, repoOptions: EndpointsOptions, body: (suite: SuiteDatabase) => void): void;
export function describeEachDatabase(
  title: string,
  ...args: [(suite: SuiteDatabase) => void] | [EndpointsOptions, (suite: SuiteDatabase) => void]
): void {
  const [repoOptions, body] = args.length === 1 ? [undefined, args[0]] : args;
  for (const kind of ["postgres", "pglite"] as const) {
    describe(`${title} (${kind})`, () => {
      let t: TestDatabase | undefined;
      let repos: Repositories | undefined;
      const opened = <T>(v: T | undefined): T => {
        if (v === undefined) throw new Error("the suite's database is opened in beforeAll; read it inside a test or hook");
        return v;
      };
      beforeAll(async () => {
        t = await createTestDatabase({ kind });
        repos = createRepositories(t.database, repoOptions);
      }, TEST_DATABASE_HOOK_TIMEOUT_MS);
      afterAll(() => t?.drop(), TEST_DATABASE_HOOK_TIMEOUT_MS);
      body({
        get database() {
          return opened(t).database;
        },
        get repos() {
          return opened(repos);
        },
      });
    });
  }
}
