/**
 * Pagination as the reference does it: `limit` (default 10, at most 1000), `offset`
 * (default 0), `order` (`field`, `field asc`, `field desc`), and the envelope
 * `{count, has_more, items, limit, offset, pagination: {next?, previous?}, total}` whose
 * links are absolute URLs keeping the request's other query parameters.
 */
import { asc, desc, type SQL, sql } from "drizzle-orm";
import { badRequest } from "./errors.ts";
import {
  compareForSort,
  type MemoryFieldMap,
  type Result,
  resolveMemoryField,
  resolveSqlField,
  type SqlFieldMap,
  type SqlFieldOptions,
} from "./filter.ts";

/** Default and maximum page size of the reference. */
export const DEFAULT_LIMIT = 10;
/** The Core API samples of the reference list without `limit` and answer `"limit": 1000`. */
export const CORE_DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 1000;

export const ORDER_DIRECTIONS = ["asc", "desc"] as const;
export type OrderDirection = (typeof ORDER_DIRECTIONS)[number];

/** A parsed `order` parameter. */
export interface OrderSpec {
  readonly field: string;
  readonly direction: OrderDirection;
}

/** The paging part of a list request. */
export interface PageQuery {
  readonly limit: number;
  readonly offset: number;
  readonly order: OrderSpec | null;
}

function integerParam(name: string, raw: string | undefined, fallback: number, max?: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw badRequest(name, `${name} must be a whole number of 0 or more, got "${raw}"`);
  const n = Number(raw.trim());
  if (max !== undefined && n > max) throw badRequest(name, `${name} cannot exceed ${max}`);
  if (!Number.isSafeInteger(n)) throw badRequest(name, `${name} is too large`);
  return n;
}

/**
 * Parses an `order` value: `field`, `field asc` or `field desc` (the `+` of the URL is
 * already a space here).
 * @example parseOrder("name desc") // { ok: true, value: { field: "name", direction: "desc" } }
 */
export function parseOrder(raw: string): Result<OrderSpec> {
  const parts = raw.trim().split(/\s+/);
  const [field, dir, ...rest] = parts;
  if (!field) return { ok: false, error: "order is empty; use field, field asc or field desc" };
  if (rest.length) return { ok: false, error: `order takes one field and an optional asc or desc, got "${raw}"` };
  const direction = (dir ?? "asc").toLowerCase();
  if (direction !== "asc" && direction !== "desc") {
    return { ok: false, error: `order direction must be asc or desc, got "${dir}"` };
  }
  return { ok: true, value: { field, direction } };
}

/**
 * Reads `limit`, `offset` and `order` from the query, answering 400 (thrown `ApiError`)
 * for a value that is not a whole number, a limit over 1000 or a malformed order.
 */
export function parsePageQuery(query: Readonly<Record<string, string | undefined>>, defaultLimit = DEFAULT_LIMIT): PageQuery {
  const limit = integerParam("limit", query.limit, defaultLimit, MAX_LIMIT);
  const offset = integerParam("offset", query.offset, 0);
  let order: OrderSpec | null = null;
  if (query.order !== undefined && query.order !== "") {
    const o = parseOrder(query.order);
    if (!o.ok) throw badRequest("order", o.error);
    order = o.value;
  }
  return { limit, offset, order };
}

/**
 * The ORDER BY of a config list for the requested field (the repository appends its own
 * tiebreakers so pages never overlap or skip rows). Throws 400 for an unknown field.
 */
export function sqlOrderBy(order: OrderSpec, fields: SqlFieldMap, options: SqlFieldOptions = {}): SQL[] {
  const f = resolveSqlField(order.field, fields, options);
  if (!f.ok) throw badRequest("order", f.error);
  const expr = f.value.kind === "string" ? sql`(${f.value.expr})::text collate "C"` : sql`${f.value.expr}`;
  return [order.direction === "desc" ? desc(expr) : asc(expr)];
}

/** Sorts live objects by the requested field (stable; nulls last ascending, first descending). */
export function sortInMemory<T>(
  items: readonly T[],
  order: OrderSpec | null,
  fields: MemoryFieldMap,
  getPath: (o: T, f: string) => unknown,
): T[] {
  if (!order) return [...items];
  const k = resolveMemoryField(order.field, fields);
  if (!k.ok) throw badRequest("order", k.error);
  const sign = order.direction === "desc" ? -1 : 1;
  return [...items].sort((a, b) => sign * compareForSort(k.value, getPath(a, order.field), getPath(b, order.field)));
}

/** The `pagination` member: absolute links, `{}` when there is nothing before or after. */
export interface PaginationLinks {
  next?: string;
  previous?: string;
}

/** A list response of the reference. */
export interface Page<T> {
  count: number;
  has_more: boolean;
  items: T[];
  limit: number;
  offset: number;
  pagination: PaginationLinks;
  total: number | null;
}

function linkWithOffset(requestUrl: URL, baseUrl: string | undefined, offset: number, limit?: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of requestUrl.searchParams) {
    if (k === "offset") continue;
    if (k === "limit" && limit !== undefined) continue;
    params.append(k, v);
  }
  if (limit !== undefined) params.append("limit", String(limit));
  params.append("offset", String(offset));
  const origin = baseUrl ? baseUrl.replace(/\/+$/, "") : requestUrl.origin;
  return `${origin}${requestUrl.pathname}?${params.toString()}`;
}

/**
 * Builds the list envelope. `matched` is how many objects match in all (for has_more and
 * the links); `total` is what the envelope prints (null for uncountable objects).
 *
 * As the reference defines them, `has_more` is true exactly when matching records exist
 * outside the returned page (before it or after it), and `pagination` is `{}` exactly
 * then too, else it holds `next` (records after the page), `previous` (records before
 * it) or both. A `limit=0` page holds nothing, so its links carry the route's default
 * limit (`defaultLimit`) instead: a link with `limit=0` would return the same empty page
 * forever. A page past the end links back to the last records that exist, not to
 * another empty page.
 * @example pageEnvelope({ items, matched: 12, total: 12, page, requestUrl: new URL(c.req.url) })
 */
export function pageEnvelope<T>(args: {
  items: T[];
  matched: number;
  total: number | null;
  page: PageQuery;
  /** The request's URL; a string is parsed only when a link is needed. */
  requestUrl: URL | string;
  /** PUBLIC_URL: origin (and path prefix) of absolute links; the request's origin when unset. */
  baseUrl?: string;
  /** The page size links use when the request asked for `limit=0`; default {@link DEFAULT_LIMIT}. */
  defaultLimit?: number;
}): Page<T> {
  const { items, matched, page } = args;
  const hasMore = items.length < matched;
  const pagination: PaginationLinks = {};
  let url: URL | undefined;
  const requestUrl = () => (url ??= typeof args.requestUrl === "string" ? new URL(args.requestUrl) : args.requestUrl);
  const linkLimit = page.limit > 0 ? undefined : (args.defaultLimit ?? DEFAULT_LIMIT);
  const step = linkLimit ?? page.limit;
  if (page.offset + items.length < matched) {
    pagination.next = linkWithOffset(requestUrl(), args.baseUrl, page.offset + page.limit, linkLimit);
  }
  const before = Math.min(page.offset, matched);
  if (before > 0) pagination.previous = linkWithOffset(requestUrl(), args.baseUrl, Math.max(0, before - step), linkLimit);
  return {
    count: items.length,
    has_more: hasMore,
    items,
    limit: page.limit,
    offset: page.offset,
    pagination,
    total: args.total,
  };
}
