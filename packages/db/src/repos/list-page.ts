import { and, asc, count, eq, getTableColumns, type SQL } from "drizzle-orm";
import type { AnyPgColumn, PgTable, SelectedFields } from "drizzle-orm/pg-core";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import type { DbOrTx } from "../client.ts";
import { isUuid, type ListOptions, type Page, type UnscopedListOptions } from "./common.ts";

/** What a listing's own page query gets: the options with the account scope already folded into `scope`. */
export type PageRequest = UnscopedListOptions & { readonly scope: SQL | undefined };

/** One page and, when the query can tell, how many rows match in all (left out: the lister counts). */
export interface PageRows<T> {
  readonly items: T[];
  readonly total?: number;
}

interface ListingSource {
  /** The listed table; the count runs over it (and `join`) too. */
  readonly table: PgTable;
  /** A table the rows are inner-joined with, for its columns or for filters on them. */
  readonly join?: { readonly table: PgTable; readonly on: SQL };
  /**
   * The column naming the owning account. Absent for global collections (call flows),
   * whose lists ignore `accountSid`.
   */
  readonly account?: AnyPgColumn;
}

/** How a repository's objects are listed: `columns` of `table` in `orderBy`, then `tiebreak`. */
export type Listing<S extends SelectedFields, T> = ListingSource &
  (
    | {
        readonly columns: S;
        /** Ordered after the caller's `orderBy`, so that pages do not shift: creation time, then SID. */
        readonly tiebreak: readonly SQL[];
        readonly toApi: (row: SelectResultFields<S>) => T;
      }
    /** A listing that fetches its page itself (the meeting rooms' single-statement page). */
    | { readonly page: (request: PageRequest) => Promise<PageRows<T>> }
  );

/**
 * The listing of a table whose rows an account owns (its `accountSid` column), all
 * columns, in creation order (`dateCreated`) then by `sid`.
 * @example const pages = listPager(db, ownedListing(dids, dids.didSid, toApi));
 */
export function ownedListing<Tb extends PgTable & { accountSid: AnyPgColumn; dateCreated: AnyPgColumn }, T>(
  table: Tb,
  sid: AnyPgColumn,
  toApi: (row: Tb["$inferSelect"]) => T,
): Listing<SelectedFields, T> {
  return {
    table,
    account: table.accountSid,
    columns: getTableColumns(table),
    tiebreak: [asc(table.dateCreated), asc(sid)],
    // The rows of all of a table's columns are its $inferSelect.
    toApi: toApi as (row: SelectResultFields<SelectedFields>) => T,
  };
}

/** The two kinds of list a repository offers; see {@link listPager}. */
export interface ListPager<T> {
  /** An account's objects only: a malformed `accountSid` lists nothing. */
  ofAccount(options: ListOptions): Promise<Page<T>>;
  /** Every account's objects, or `accountSid`'s when given (operator and global collections). */
  all(options: UnscopedListOptions): Promise<Page<T>>;
}

/**
 * The list/page code of every repository: the account scope, one page of rows in
 * `orderBy` then the listing's tiebreak, and the number of rows matching in all.
 * @example
 * const pages = listPager(db, { table: dids, account: dids.accountSid, columns: getTableColumns(dids), tiebreak: [asc(dids.dateCreated), asc(dids.didSid)], toApi });
 * const page = await pages.ofAccount({ accountSid, limit: 10, offset: 0 });
 */
export function listPager<S extends SelectedFields, T>(db: DbOrTx, listing: Listing<S, T>): ListPager<T> {
  const { table, join, account } = listing;

  // Not generic over the fields: drizzle's join types do not resolve for a type parameter,
  // so the rows are typed by their callers below.
  function from(fields: SelectedFields) {
    const q = db.select(fields).from(table).$dynamic();
    return join ? q.innerJoin(join.table, join.on) : q;
  }

  async function countRows(scope: SQL | undefined): Promise<number> {
    const [c] = await from({ n: count() }).where(scope);
    return (c?.n as number | undefined) ?? 0;
  }

  async function pageRows(request: PageRequest): Promise<PageRows<T>> {
    if ("page" in listing) return listing.page(request);
    const { scope, orderBy, limit, offset } = request;
    const rows = await from(listing.columns)
      .where(scope)
      .orderBy(...(orderBy ?? []), ...listing.tiebreak)
      .limit(limit)
      .offset(offset);
    return { items: (rows as SelectResultFields<S>[]).map(listing.toApi) };
  }

  async function list(options: UnscopedListOptions, scope: SQL | undefined): Promise<Page<T>> {
    const page = await pageRows({ ...options, scope });
    return { items: page.items, total: page.total ?? (await countRows(scope)) };
  }

  return {
    async ofAccount(options) {
      if (!account || !isUuid(options.accountSid)) return { items: [], total: 0 };
      return list(options, and(eq(account, options.accountSid), options.where));
    },
    async all(options) {
      const { accountSid, where } = options;
      if (!account) return list(options, where);
      if (accountSid !== undefined && !isUuid(accountSid)) return { items: [], total: 0 };
      return list(options, and(accountSid === undefined ? undefined : eq(account, accountSid), where));
    },
  };
}
