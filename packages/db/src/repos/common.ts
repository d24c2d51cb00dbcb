import { type AttributeOverrides, isAttributeKey, validateOverrides } from "@conf/call-flow";
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../client.ts";

/** Kinds of expected failure. The API maps them: not_found 404, conflict 409, invalid 422. */
export const DB_ERROR_KINDS = ["not_found", "conflict", "invalid"] as const;
export type DbErrorKind = (typeof DB_ERROR_KINDS)[number];

/** One field-level problem, as the API's 422 `errors` entries want it. */
export interface FieldError {
  /** API field name: `name`, `call_flow_sid`, `attributes.conference_language`, `access_codes`... */
  readonly field: string;
  readonly message: string;
  /** The SID of the object the problem is about, when there is one (e.g. the room already using a code). */
  readonly referenceSid?: string;
}

/** An expected failure of a repository operation. */
export interface DbError {
  readonly kind: DbErrorKind;
  readonly message: string;
  /** The first offending field, when the failure is about fields. */
  readonly field?: string;
  /** Every offending field (at least one for `invalid` and `conflict`). */
  readonly errors?: readonly FieldError[];
}

/** A repository result: expected failures are values, never throws. */
export type DbResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DbError };

export const ok = <T>(value: T): DbResult<T> => ({ ok: true, value });

export function notFound(object: string): { ok: false; error: DbError } {
  return { ok: false, error: { kind: "not_found", message: `cannot find ${object}` } };
}

export function invalid(errors: readonly FieldError[]): { ok: false; error: DbError } {
  const first = errors[0];
  return {
    ok: false,
    error: { kind: "invalid", message: first?.message ?? "invalid", field: first?.field, errors },
  };
}

export function conflict(errors: readonly FieldError[]): { ok: false; error: DbError } {
  const first = errors[0];
  return {
    ok: false,
    error: { kind: "conflict", message: first?.message ?? "conflict", field: first?.field, errors },
  };
}

/** A page of API objects and the number of rows matching the filter (all pages). */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

/** What `list` takes. `where` and `orderBy` are built by the API from a repository's `fields`. */
export interface ListOptions {
  /** The account whose objects are listed; the repository adds this scope itself. */
  readonly accountSid: string;
  readonly where?: SQL;
  readonly orderBy?: SQL[];
  /** Rows per page (the API caps it at 1000). */
  readonly limit: number;
  readonly offset: number;
}

/** `list` options of the operator's and global collections (no account scope). */
export type UnscopedListOptions = Omit<ListOptions, "accountSid"> & { readonly accountSid?: string };

/** API field name -> column or SQL expression, for filter and order compilation. */
export type FieldMap = Readonly<Record<string, AnyPgColumn | SQL>>;

/**
 * The SQL expression of an API field path: a field of `fields`, or `attributes.<key>`
 * as `attributes ->> 'key'` (the key is a bound parameter). Undefined for unknown paths.
 * @example fieldExpression(meetingRoomFields, "attributes.conference_language")
 */
export function fieldExpression(fields: FieldMap, path: string): AnyPgColumn | SQL | undefined {
  if (Object.hasOwn(fields, path)) return fields[path];
  const dot = path.indexOf(".");
  if (dot > 0) {
    const base = fields[path.slice(0, dot)];
    const key = path.slice(dot + 1);
    if (base && key) return sql`(${base} ->> ${key})`;
  }
  return undefined;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` can be compared with a uuid column without a cast error. */
export function isUuid(s: unknown): s is string {
  return typeof s === "string" && UUID_RE.test(s);
}

/** The PostgreSQL error under a driver or drizzle wrapper (drizzle 0.44 wraps in `cause`). */
export function pgErrorOf(e: unknown): { code?: string; constraint?: string; detail?: string } | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === "object"; i++) {
    const o = cur as { code?: unknown; constraint?: unknown; constraint_name?: unknown; detail?: unknown; cause?: unknown };
    if (typeof o.code === "string" && /^[0-9A-Z]{5}$/.test(o.code)) {
      const constraint = (o.constraint_name ?? o.constraint) as string | undefined;
      return { code: o.code, constraint, detail: o.detail as string | undefined };
    }
    cur = o.cause;
  }
  return undefined;
}

function isViolation(code: string, e: unknown, constraint: string | undefined): boolean {
  const pg = pgErrorOf(e);
  return pg?.code === code && (constraint === undefined || pg.constraint === constraint);
}

/** Whether `e` is a unique violation, optionally of a named constraint. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  return isViolation("23505", e, constraint);
}

/** Whether `e` is a foreign key violation (the referenced row is gone), optionally of a named constraint. */
export function isForeignKeyViolation(e: unknown, constraint?: string): boolean {
  return isViolation("23503", e, constraint);
}

/** ISO 8601 with milliseconds and `Z`, as the reference's samples. */
export function iso(d: Date | string): string {
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

/** Attributes as returned: keys sorted (jsonb keeps its own order), as the reference lists them. */
export function sortedAttributes<T extends object>(a: T | null | undefined): T {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(a ?? {}).sort()) out[k] = (a as Record<string, unknown>)[k];
  return out as T;
}

/**
 * The fields of the objects that are levels of call-flow resolution below a meeting room
 * (accounts, DID groups, DIDs): their account, the attributes they override and the call
 * flow they name.
 */
export interface CallFlowLevelObject {
  account_sid: string;
  attributes: AttributeOverrides;
  call_flow_sid: string | null;
}

/**
 * A level's fields as returned (attributes sorted), to spread first into its object: they
 * sort before every other field, so the object's keys stay in the reference's order.
 * @example return { ...callFlowLevelToApi(row), name: row.name };
 */
export function callFlowLevelToApi(row: {
  accountSid: string;
  attributes: AttributeOverrides;
  callFlowSid: string | null;
}): CallFlowLevelObject {
  return { account_sid: row.accountSid, attributes: sortedAttributes(row.attributes), call_flow_sid: row.callFlowSid };
}

/** Attributes to store whole (create, PUT, PATCH with `nested_objects=replace`). */
export function checkAttributes(input: unknown): DbResult<AttributeOverrides> {
  if (input === undefined || input === null) return ok({});
  const r = validateOverrides(input);
  return r.ok ? ok(r.value) : invalid(r.error);
}

/** A PATCH of attributes: string values set keys, `null` removes them. */
export type AttributesPatch = Readonly<Record<string, string | null>>;

/** How a PATCH treats nested objects, as the reference's `nested_objects` query parameter. */
export type NestedObjects = "merge" | "replace";

/**
 * Validates an attributes PATCH (merge rules 1-3 of the reference): non-null values as
 * stored values, null values only need a known key.
 */
export function checkAttributesPatch(input: unknown): DbResult<AttributesPatch> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return invalid([{ field: "attributes", message: "must be an object" }]);
  }
  const sets: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (v === null) {
      if (!isAttributeKey(k)) errors.push({ field: `attributes.${k}`, message: "unknown attribute" });
    } else sets[k] = v;
  }
  const r = validateOverrides(sets);
  if (!r.ok) errors.push(...r.error);
  return errors.length ? invalid(errors) : ok(input as AttributesPatch);
}

/**
 * The SQL that applies an attributes PATCH to a jsonb column atomically: new keys are
 * added, existing ones replaced, and keys patched to null removed (stored values are
 * never null, so stripping nulls only drops those).
 */
export function mergeAttributesSql(column: AnyPgColumn, patch: AttributesPatch): SQL {
  return sql`jsonb_strip_nulls(${column} || ${JSON.stringify(patch)}::jsonb)`;
}

/**
 * What a PATCH of `attributes` writes: the whole validated object with
 * `nested_objects=replace`, else the SQL that merges it into `column` (rules 1-3).
 */
export function attributesUpdate(
  column: AnyPgColumn,
  input: unknown,
  nestedObjects: NestedObjects | undefined,
): DbResult<SQL | AttributeOverrides> {
  if (nestedObjects === "replace") return checkAttributes(input);
  const a = checkAttributesPatch(input);
  return a.ok ? ok(mergeAttributesSql(column, a.value)) : a;
}

/** Checks that `value` is a string (or null when `nullable`), for the field's message. */
export function checkString(field: string, value: unknown, opts: { nullable?: boolean; max?: number } = {}): FieldError | null {
  if (value === null && opts.nullable) return null;
  if (typeof value !== "string") return { field, message: opts.nullable ? "must be a string or null" : "must be a string" };
  const max = opts.max ?? 255;
  if (value.length > max) return { field, message: `must be at most ${max} characters` };
  return null;
}

/**
 * The repository of a collection every account has its own of (DID groups, meeting
 * rooms): `get`, `update`, `replace` and `delete` are scoped, and another account's
 * object is `not_found` exactly as a missing one.
 */
export interface AccountCollectionRepo<Fields extends FieldMap, T, Input, Patch> {
  readonly fields: Fields;
  create(accountSid: string, input: Input): Promise<DbResult<T>>;
  get(accountSid: string, sid: string): Promise<DbResult<T>>;
  list(options: ListOptions): Promise<Page<T>>;
  update(accountSid: string, sid: string, patch: Patch, options?: { nestedObjects?: NestedObjects }): Promise<DbResult<T>>;
  replace(accountSid: string, sid: string, body: Input): Promise<DbResult<T>>;
  delete(accountSid: string, sid: string): Promise<DbResult<void>>;
}

/**
 * A collection whose objects are reached by their SID alone, whatever their account: the
 * operator's (endpoints, trunk prefixes) and the global call flows.
 */
export interface OperatorCollectionRepo<Fields extends FieldMap, T> {
  readonly fields: Fields;
  get(sid: string): Promise<DbResult<T>>;
  list(options: UnscopedListOptions): Promise<Page<T>>;
}

/** Reads, writes and deletes of one account's rows of a table; see {@link accountRows}. */
export interface AccountRows<Row, Insert> {
  /** The condition selecting the row `sid` of `accountSid`. */
  where(accountSid: string, sid: string): SQL | undefined;
  /** Whether both SIDs can name a row at all: malformed ones are `not_found` without a query (no uuid cast error). */
  valid(accountSid: string, sid: string): boolean;
  /** The `not_found` of this kind of object. */
  missing(): { ok: false; error: DbError };
  /** The row as `toApi` makes it, or `not_found`. */
  get<T>(accountSid: string, sid: string, toApi: (row: Row) => T | Promise<T>): Promise<DbResult<T>>;
  /** Writes `set` and returns the row as `toApi` makes it, or `not_found`; an empty `set` writes nothing and reads the row. */
  update<T>(accountSid: string, sid: string, set: Partial<Insert>, toApi: (row: Row) => T): Promise<DbResult<T>>;
  delete(accountSid: string, sid: string): Promise<DbResult<void>>;
}

/**
 * The get/delete/scope code of the tables whose rows belong to an account (DID groups,
 * DIDs, meeting rooms, webhooks): every access is scoped by account and SID, so
 * another account's row answers exactly as a missing one.
 * @example
 * const rows = accountRows(db, didGroups, { account: didGroups.accountSid, sid: didGroups.didGroupSid }, "did group");
 * await rows.get(accountSid, sid, toApi);
 */
export function accountRows<Table extends PgTable>(
  db: DbOrTx,
  table: Table,
  columns: { readonly account: AnyPgColumn; readonly sid: AnyPgColumn },
  object: string,
): AccountRows<Table["$inferSelect"], Table["$inferInsert"]> {
  const where = (accountSid: string, sid: string) => and(eq(columns.account, accountSid), eq(columns.sid, sid));
  const valid = (accountSid: string, sid: string) => isUuid(accountSid) && isUuid(sid);
  const missing = () => notFound(object);
  // Not generic over the table's columns: drizzle's select types do not resolve for a
  // type parameter, so the rows are typed by the table's own $inferSelect.
  const source = table as PgTable;
  const get = async <T>(accountSid: string, sid: string, toApi: (row: Table["$inferSelect"]) => T | Promise<T>) => {
    if (!valid(accountSid, sid)) return missing();
    const [row] = (await db.select().from(source).where(where(accountSid, sid))) as Table["$inferSelect"][];
    return row ? ok(await toApi(row)) : missing();
  };
  return {
    where,
    valid,
    missing,
    get,
    async update(accountSid, sid, set, toApi) {
      if (Object.keys(set).length === 0) return get(accountSid, sid, toApi);
      if (!valid(accountSid, sid)) return missing();
      const [row] = (await db.update(source).set(set).where(where(accountSid, sid)).returning()) as Table["$inferSelect"][];
      return row ? ok(toApi(row)) : missing();
    },
    async delete(accountSid, sid) {
      if (!valid(accountSid, sid)) return missing();
      const rows = await db.delete(source).where(where(accountSid, sid)).returning({ sid: columns.sid });
      return rows.length ? ok(undefined) : missing();
    },
  };
}

/**
 * One row reached by its SID alone (accounts, call flows, the operator's collections), as
 * `toApi` makes it, or `not_found`: a malformed SID answers as a missing row, without a
 * query (no uuid cast error). `read` selects the row whose SID is `sid` (with its joins).
 * @example
 * await rowBySid(sid, "call flow", (s) => db.select().from(callFlows).where(eq(callFlows.callFlowSid, s)), toApi);
 */
export async function rowBySid<Row, T>(
  sid: string,
  object: string,
  read: (sid: string) => PromiseLike<Row[]>,
  toApi: (row: Row) => T,
): Promise<DbResult<T>> {
  if (!isUuid(sid)) return notFound(object);
  const [row] = await read(sid);
  return row ? ok(toApi(row)) : notFound(object);
}

/**
 * Deletes the row of `table` whose SID `column` is `sid`; `not_found` as {@link rowBySid}.
 * @example await deleteBySid(db, trunkPrefixes, trunkPrefixes.prefixSid, sid, "prefix");
 */
export async function deleteBySid(
  db: DbOrTx,
  table: PgTable,
  column: AnyPgColumn,
  sid: string,
  object: string,
): Promise<DbResult<void>> {
  if (!isUuid(sid)) return notFound(object);
  const rows = await db.delete(table).where(eq(column, sid)).returning({ sid: column });
  return rows.length ? ok(undefined) : notFound(object);
}
