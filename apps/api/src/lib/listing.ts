/**
 * The list routes' common path: pagination, result filtering and field filtering, over a
 * repository (compiled to SQL) or over live objects (in memory).
 */
import { ATTRIBUTE_KEYS } from "@conf/call-flow";
import type { Context } from "hono";
import type { SQL } from "drizzle-orm";
import { type AppEnv, baseUrlOf } from "./context.ts";
import { badRequest } from "./errors.ts";
import { type FieldSelection, parseFieldSelection, selectFields } from "./fields.ts";
import {
  compileFilter,
  compilePredicate,
  type FilterAst,
  getPath,
  type MemoryFieldMap,
  parseFilter,
  type SqlFieldMap,
  type SqlFieldOptions,
} from "./filter.ts";
import { type Page, type PageQuery, pageEnvelope, parsePageQuery, sortInMemory, sqlOrderBy } from "./pagination.ts";

/** A repository's list, as `@conf/db` shapes it. */
export interface ListableRepo<T> {
  readonly fields: SqlFieldMap;
  list(options: { accountSid?: string; where?: SQL; orderBy?: SQL[]; limit: number; offset: number }): Promise<{
    items: T[];
    total: number;
  }>;
}

/** Config objects: `attributes.<key>` must name a known attribute. */
export const CONFIG_FIELD_OPTIONS: SqlFieldOptions = { jsonKeys: { attributes: ATTRIBUTE_KEYS } };

function parseFilterParam(c: Context<AppEnv>, raw: string | undefined): FilterAst | null {
  if (raw === undefined || raw.trim() === "") return null;
  const r = parseFilter(raw, c.get("services").filterLimits);
  if (!r.ok) throw badRequest("filter", r.error);
  return r.value;
}

/** A field the object has but the filter cannot use (an array such as access_codes) gets its own message. */
function checkFilterable(ast: FilterAst, isFilterable: (f: string) => boolean, objectFields: readonly string[]): void {
  for (const c of ast.conditions) {
    if (!isFilterable(c.field) && objectFields.includes(c.field)) {
      throw badRequest("filter", `"${c.field}" cannot be used in a filter`);
    }
  }
}

/** One page of `items` (already the page's slice), each cut to `selection`, with links relative to the request. */
function envelope<T extends object>(
  c: Context<AppEnv>,
  items: readonly T[],
  selection: FieldSelection,
  page: PageQuery,
  matched: number,
  total: number | null,
  defaultLimit?: number,
): Page<T> {
  return pageEnvelope({
    items: items.map((i) => selectFields(i, selection)),
    matched,
    total,
    page,
    requestUrl: c.req.url,
    baseUrl: c.get("services").publicUrl,
    defaultLimit,
  });
}

/**
 * Lists config objects of the authenticated account (all accounts when `unscoped`), with the query's
 * paging, filter and field selection. Bad parameters are 400s naming what is wrong.
 * @example return c.json(await listConfig(c, repos.meetingRooms, MEETING_ROOM_FIELDS), 200);
 */
export async function listConfig<T extends object>(
  c: Context<AppEnv>,
  repo: ListableRepo<T>,
  objectFields: readonly string[],
  options: { unscoped?: boolean; fieldOptions?: SqlFieldOptions; defaultLimit?: number } = {},
): Promise<Page<T>> {
  const query = c.req.query();
  const page = parsePageQuery(query, options.defaultLimit);
  const selection = parseFieldSelection(query, objectFields);
  const fieldOptions = options.fieldOptions ?? CONFIG_FIELD_OPTIONS;
  const ast = parseFilterParam(c, query.filter);
  let where: SQL | undefined;
  if (ast) {
    checkFilterable(ast, (f) => Object.hasOwn(repo.fields, f) || f.includes("."), objectFields);
    const r = compileFilter(ast, repo.fields, fieldOptions);
    if (!r.ok) throw badRequest("filter", r.error);
    where = r.value;
  }
  if (page.order && !Object.hasOwn(repo.fields, page.order.field) && objectFields.includes(page.order.field)) {
    throw badRequest("order", `"${page.order.field}" cannot be used to order`);
  }
  const orderBy = page.order ? sqlOrderBy(page.order, repo.fields, fieldOptions) : [];
  // Operator lists see every account; everything else only the caller's own.
  const accountSid = options.unscoped ? undefined : c.get("principal").accountSid;
  const { items, total } = await repo.list({ accountSid, where, orderBy, limit: page.limit, offset: page.offset });
  return envelope(c, items, selection, page, total, total, options.defaultLimit);
}

/**
 * Lists live objects (already scoped to the account) in memory: filter, order, page,
 * select fields. `countable: false` prints `total: null`, as the reference does for meetings.
 */
export function listLive<T extends object>(
  c: Context<AppEnv>,
  all: readonly T[],
  fields: MemoryFieldMap,
  objectFields: readonly string[],
  options: { countable: boolean },
): Page<T> {
  const query = c.req.query();
  const page = parsePageQuery(query);
  const selection = parseFieldSelection(query, objectFields);
  const ast = parseFilterParam(c, query.filter);
  let matched: readonly T[] = all;
  if (ast) {
    const p = compilePredicate(ast, fields);
    if (!p.ok) throw badRequest("filter", p.error);
    matched = all.filter(p.value);
  }
  const sorted = sortInMemory(matched, page.order, fields, (o, f) => getPath(o, f));
  const items = sorted.slice(page.offset, page.offset + page.limit);
  return envelope(c, items, selection, page, sorted.length, options.countable ? sorted.length : null);
}

/**
 * As {@link listLive} with `countable: true`, for a store that can read one page: a
 * request without filter and order asks `fetchPage` for its slice of the order `fetchAll`
 * returns, and the exact count, instead of reading every object to keep ten; a filter or
 * an order needs them all.
 */
export async function listLivePaged<T extends object>(
  c: Context<AppEnv>,
  fetchPage: (offset: number, limit: number) => Promise<{ items: T[]; total: number }>,
  fetchAll: () => Promise<readonly T[]>,
  fields: MemoryFieldMap,
  objectFields: readonly string[],
): Promise<Page<T>> {
  const query = c.req.query();
  const page = parsePageQuery(query);
  const selection = parseFieldSelection(query, objectFields);
  if (parseFilterParam(c, query.filter) || page.order)
    return listLive(c, await fetchAll(), fields, objectFields, { countable: true });
  const { items, total } = await fetchPage(page.offset, page.limit);
  return envelope(c, items, selection, page, total, total);
}

/** Reads and applies `include_fields` / `exclude_fields` to one object. */
export function selectOne<T extends object>(c: Context<AppEnv>, obj: T, objectFields: readonly string[]): T {
  return selectFields(obj, parseFieldSelection(c.req.query(), objectFields));
}

export { baseUrlOf };
