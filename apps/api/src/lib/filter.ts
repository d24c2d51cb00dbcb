/**
 * Result filtering (`?filter=`), the reference's grammar:
 *
 *   filter    := condition ( AND condition )*
 *   condition := field op value | field ( IN | NOTIN ) "(" value ( "," value )* ")"
 *   op        := eq | ne | gt | ge | lt | le | like | ilike      (keywords case-insensitive)
 *   value     := bare-word | 'single quoted' | "double quoted"   (backslash escapes in quotes)
 *
 * A bare `null` is the null value (`did_group_sid eq null`); a quoted "null" is the string.
 * The parser is hand-written (a cursor over the string, lexing on demand) because which
 * characters end a bare value depends on where it stands: inside an `in (...)` list a
 * comma or `)` ends it, elsewhere only whitespace does.
 *
 * The AST is then either compiled to a parameterized drizzle `SQL` fragment against a
 * repository's `fields` map (config objects) or turned into a predicate over plain
 * objects (live calls and meetings). Both give the same answers for the same data.
 */
import { Column, is, SQL, sql } from "drizzle-orm";

/** Every filter operator of the reference. */
export const FILTER_OPERATORS = ["eq", "ne", "gt", "ge", "lt", "le", "like", "ilike", "in", "notin"] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];
type ListOperator = "in" | "notin";
type ScalarOperator = Exclude<FilterOperator, ListOperator>;

/** A value of a condition; `null` only for the bare word `null`. */
export type FilterValue = string | null;

export type Condition =
  | { readonly field: string; readonly op: ScalarOperator; readonly value: FilterValue }
  | { readonly field: string; readonly op: ListOperator; readonly values: readonly FilterValue[] };

/** A parsed filter: conditions that must all hold. */
export interface FilterAst {
  readonly conditions: readonly Condition[];
}

export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

/** Bounds on a filter, each refused with a message naming it (a 400 at the API). */
export interface FilterLimits {
  /** Characters of the whole filter (default 4000; env API_FILTER_MAX_LENGTH). */
  readonly maxLength: number;
  /** Conditions joined by `and` (default 50; env API_FILTER_MAX_CONDITIONS). */
  readonly maxConditions: number;
  /** Values of one `in`/`notin` list (default 1000; env API_FILTER_MAX_LIST_VALUES). */
  readonly maxListValues: number;
  /** Characters of one like/ilike pattern (default 256; env API_FILTER_MAX_PATTERN_LENGTH). */
  readonly maxPatternLength: number;
}

/** The default filter bounds. */
export const DEFAULT_FILTER_LIMITS: FilterLimits = Object.freeze({
  maxLength: 4000,
  maxConditions: 50,
  maxListValues: 1000,
  maxPatternLength: 256,
});
const FIELD_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

class ParseError extends Error {}

/** Lexes on demand; positions in messages are 1-based character offsets. */
class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly limits: FilterLimits,
  ) {}

  parse(): FilterAst {
    const conditions: Condition[] = [];
    this.skipWs();
    if (this.atEnd()) throw new ParseError("the filter is empty");
    for (;;) {
      conditions.push(this.condition());
      if (conditions.length > this.limits.maxConditions) {
        throw new ParseError(`at most ${this.limits.maxConditions} conditions are allowed`);
      }
      this.skipWs();
      if (this.atEnd()) return { conditions };
      const at = this.pos;
      const word = this.word();
      if (word.toLowerCase() !== "and") {
        throw new ParseError(`expected "and" or the end of the filter at position ${at + 1}, found "${word || this.src[at]}"`);
      }
      this.requireWs(`"and"`);
    }
  }

  private condition(): Condition {
    const at = this.pos;
    const field = this.word();
    if (!field) throw new ParseError(`expected a field name at position ${at + 1}`);
    if (!FIELD_RE.test(field)) throw new ParseError(`"${field}" at position ${at + 1} is not a field name`);
    this.requireWs(`field "${field}"`);
    const opAt = this.pos;
    const opWord = this.word();
    const op = opWord.toLowerCase() as FilterOperator;
    if (!opWord) throw new ParseError(`expected an operator after "${field}" at position ${opAt + 1}`);
    if (!FILTER_OPERATORS.includes(op)) {
      throw new ParseError(
        `unknown operator "${opWord}" after "${field}" at position ${opAt + 1}; use one of ${FILTER_OPERATORS.join(", ")}`,
      );
    }
    this.skipWs();
    if (op === "in" || op === "notin") return { field, op, values: this.list(field, op) };
    if (this.atEnd()) throw new ParseError(`missing value after "${field} ${op}"`);
    const value = this.value(false);
    if ((op === "like" || op === "ilike") && value !== null && value.length > this.limits.maxPatternLength) {
      throw new ParseError(`the ${op} pattern of "${field}" is longer than ${this.limits.maxPatternLength} characters`);
    }
    return { field, op, value };
  }

  private list(field: string, op: ListOperator): FilterValue[] {
    if (this.src[this.pos] !== "(") {
      throw new ParseError(`expected "(" after "${field} ${op}" at position ${this.pos + 1}, as in ${op} ("a", "b")`);
    }
    this.pos++;
    const values: FilterValue[] = [];
    for (;;) {
      this.skipWs();
      if (this.atEnd()) throw new ParseError(`unclosed list after "${field} ${op}": missing ")"`);
      if (this.src[this.pos] === ")" && values.length === 0) throw new ParseError(`empty list after "${field} ${op}"`);
      values.push(this.value(true));
      if (values.length > this.limits.maxListValues) {
        throw new ParseError(`a list may hold at most ${this.limits.maxListValues} values`);
      }
      this.skipWs();
      const ch = this.src[this.pos];
      if (ch === ",") {
        this.pos++;
        continue;
      }
      if (ch === ")") {
        this.pos++;
        return values;
      }
      if (ch === undefined) throw new ParseError(`unclosed list after "${field} ${op}": missing ")"`);
      throw new ParseError(`expected "," or ")" at position ${this.pos + 1} in the list of "${field} ${op}"`);
    }
  }

  private value(inList: boolean): FilterValue {
    const ch = this.src[this.pos];
    if (ch === '"' || ch === "'") return this.quoted(ch);
    const at = this.pos;
    while (!this.atEnd()) {
      const c = this.src[this.pos] as string;
      if (/\s/.test(c)) break;
      if (inList && (c === "," || c === ")")) break;
      if (c === '"' || c === "'") throw new ParseError(`unexpected quote at position ${this.pos + 1}; quote the whole value`);
      this.pos++;
    }
    const word = this.src.slice(at, this.pos);
    if (!word) throw new ParseError(`expected a value at position ${at + 1}`);
    return word === "null" ? null : word;
  }

  private quoted(quote: string): string {
    const start = this.pos;
    this.pos++;
    let out = "";
    while (!this.atEnd()) {
      const c = this.src[this.pos] as string;
      if (c === "\\" && this.pos + 1 < this.src.length) {
        out += this.src[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (c === quote) {
        this.pos++;
        return out;
      }
      out += c;
      this.pos++;
    }
    throw new ParseError(`unterminated quoted value starting at position ${start + 1}`);
  }

  /** A run of non-space characters that cannot start a value (field names, keywords). */
  private word(): string {
    const at = this.pos;
    while (!this.atEnd() && /[^\s()'",]/.test(this.src[this.pos] as string)) this.pos++;
    return this.src.slice(at, this.pos);
  }

  private requireWs(after: string): void {
    if (this.atEnd()) return;
    if (!/\s/.test(this.src[this.pos] as string)) {
      throw new ParseError(`expected a space after ${after} at position ${this.pos + 1}`);
    }
    this.skipWs();
  }

  private skipWs(): void {
    while (!this.atEnd() && /\s/.test(this.src[this.pos] as string)) this.pos++;
  }

  private atEnd(): boolean {
    return this.pos >= this.src.length;
  }
}

/**
 * Parses a `filter` query value into its AST, within `limits` (default {@link DEFAULT_FILTER_LIMITS}).
 * @example parseFilter('state eq "NY" and phonenumber like "%555%"')
 * // { ok: true, value: { conditions: [{field:"state",op:"eq",value:"NY"}, {field:"phonenumber",op:"like",value:"%555%"}] } }
 */
export function parseFilter(input: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): Result<FilterAst> {
  if (input.length > limits.maxLength) return { ok: false, error: `the filter is longer than ${limits.maxLength} characters` };
  try {
    return { ok: true, value: new Parser(input, limits).parse() };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Field kinds: how a value is compared.

/** How a field's values compare. `json` fields are only filterable by key (`attributes.<key>`). */
export const FIELD_KINDS = ["string", "uuid", "number", "boolean", "date", "json"] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

/** The comparison kind of a drizzle column, from its SQL type. */
export function kindOfColumn(column: Column): FieldKind {
  const t = column.getSQLType().toLowerCase();
  if (t === "uuid") return "uuid";
  if (t.startsWith("json")) return "json";
  if (t.startsWith("timestamp") || t === "date") return "date";
  if (t === "boolean") return "boolean";
  if (/^(integer|smallint|bigint|serial|bigserial|smallserial|numeric|decimal|real|double precision)/.test(t)) {
    return "number";
  }
  return "string";
}

type Typed = { kind: Exclude<FieldKind, "json">; value: FilterValue };

const NUMBER_RE = /^-?\d+(\.\d+)?$/;

/** Checks a value against its field's kind and normalizes it (dates to ISO, booleans to lower case). */
function typedValue(field: string, kind: Exclude<FieldKind, "json">, op: FilterOperator, value: FilterValue): Result<Typed> {
  if (value === null) {
    if (op === "eq" || op === "ne" || op === "in" || op === "notin") return { ok: true, value: { kind, value } };
    return { ok: false, error: `"${field} ${op} null": null can only be compared with eq, ne, in and notin` };
  }
  if (op === "like" || op === "ilike") return { ok: true, value: { kind, value } };
  switch (kind) {
    case "number":
      if (!NUMBER_RE.test(value)) return { ok: false, error: `"${field}" is a number; "${value}" is not` };
      return { ok: true, value: { kind, value } };
    case "boolean": {
      const v = value.toLowerCase();
      if (v !== "true" && v !== "false") return { ok: false, error: `"${field}" is true or false; "${value}" is neither` };
      if (op !== "eq" && op !== "ne" && op !== "in" && op !== "notin") {
        return { ok: false, error: `"${field}" is true or false and can only be compared with eq, ne, in and notin` };
      }
      return { ok: true, value: { kind, value: v } };
    }
    case "date": {
      const ms = Date.parse(value);
      if (Number.isNaN(ms))
        return { ok: false, error: `"${field}" is a date; "${value}" is not a date such as 2021-02-25T20:36:54.000Z` };
      return { ok: true, value: { kind, value: new Date(ms).toISOString() } };
    }
    default:
      return { ok: true, value: { kind, value } };
  }
}

// ---------------------------------------------------------------------------
// SQL compilation.

/** What a repository exposes for filtering and sorting: API field name -> column or SQL expression. */
export type SqlFieldMap = Readonly<Record<string, Column | SQL>>;

/** Options of `compileFilter` / `resolveSqlField`. */
export interface SqlFieldOptions {
  /** For json fields: the keys that may follow the dot (e.g. the attribute keys). Any key when absent. */
  readonly jsonKeys?: Readonly<Record<string, readonly string[]>>;
}

/** A field resolved to the SQL expression to compare and its kind. */
export interface SqlField {
  readonly expr: SQL | Column;
  readonly kind: Exclude<FieldKind, "json">;
}

/** Resolves an API field name (or `json_field.key`) against a fields map. */
export function resolveSqlField(name: string, fields: SqlFieldMap, options: SqlFieldOptions = {}): Result<SqlField> {
  const known = () => Object.keys(fields).sort().join(", ");
  const direct = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (direct !== undefined) {
    const kind = is(direct, Column) ? kindOfColumn(direct) : "string";
    if (kind === "json") return { ok: false, error: `"${name}" is an object; name one of its keys, as in ${name}.<key>` };
    // An SQL expression of unknown type is compared as text.
    return { ok: true, value: { expr: is(direct, Column) ? direct : sql`(${direct})::text`, kind } };
  }
  const dot = name.indexOf(".");
  if (dot > 0) {
    const base = name.slice(0, dot);
    const key = name.slice(dot + 1);
    const col = Object.hasOwn(fields, base) ? fields[base] : undefined;
    if (col !== undefined && is(col, Column) && kindOfColumn(col) === "json") {
      const allowed = options.jsonKeys?.[base];
      if (key.includes(".") || (allowed && !allowed.includes(key))) {
        return { ok: false, error: `unknown field "${name}": "${key}" is not a key of ${base}` };
      }
      // `::text` on the key: `->>` is overloaded (text and integer), an untyped parameter is ambiguous.
      return { ok: true, value: { expr: sql`(${col} ->> ${key}::text)`, kind: "string" } };
    }
  }
  return { ok: false, error: `unknown field "${name}"; fields: ${known()}` };
}

function sqlValue(t: Typed): SQL {
  switch (t.kind) {
    case "number":
      return sql`${Number(t.value)}`;
    case "boolean":
      return sql`${t.value === "true"}`;
    case "date":
      return sql`${t.value}::timestamptz`;
    default:
      return sql`${t.value}`;
  }
}

/** The left side of a comparison: uuid compared as text, text ordered by code point like JS does. */
function sqlLeft(f: SqlField, op: FilterOperator): SQL {
  if (op === "like" || op === "ilike") {
    if (f.kind === "date") return sql`to_char(${f.expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    return sql`(${f.expr})::text`;
  }
  if (f.kind === "uuid") return sql`(${f.expr})::text`;
  if (f.kind === "string" && (op === "gt" || op === "ge" || op === "lt" || op === "le")) {
    return sql`(${f.expr})::text collate "C"`;
  }
  return sql`${f.expr}`;
}

const SQL_OP: Record<"gt" | "ge" | "lt" | "le" | "like" | "ilike", SQL> = {
  gt: sql.raw(">"),
  ge: sql.raw(">="),
  lt: sql.raw("<"),
  le: sql.raw("<="),
  like: sql.raw("like"),
  ilike: sql.raw("ilike"),
};

function compileCondition(c: Condition, fields: SqlFieldMap, options: SqlFieldOptions): Result<SQL> {
  const f = resolveSqlField(c.field, fields, options);
  if (!f.ok) return f;
  const left = sqlLeft(f.value, c.op);
  if ("values" in c) {
    const typed: Typed[] = [];
    for (const v of c.values) {
      const t = typedValue(c.field, f.value.kind, c.op, v);
      if (!t.ok) return t;
      typed.push(t.value);
    }
    const nonNull = typed.filter((t) => t.value !== null);
    const hasNull = nonNull.length !== typed.length;
    const list = nonNull.length ? sql`${left} in (${sql.join(nonNull.map(sqlValue), sql`, `)})` : sql`false`;
    if (c.op === "in") return { ok: true, value: hasNull ? sql`(${list} or ${f.value.expr} is null)` : sql`(${list})` };
    // notin keeps rows whose value is null unless null is in the list: they do not hold any listed value.
    return {
      ok: true,
      value: hasNull
        ? sql`(${f.value.expr} is not null and not coalesce(${list}, false))`
        : sql`(${f.value.expr} is null or not coalesce(${list}, false))`,
    };
  }
  const t = typedValue(c.field, f.value.kind, c.op, c.value);
  if (!t.ok) return t;
  if (t.value.value === null) {
    return { ok: true, value: c.op === "eq" ? sql`(${f.value.expr} is null)` : sql`(${f.value.expr} is not null)` };
  }
  // A like pattern is text whatever the column: a date's is matched against its ISO text.
  const right = c.op === "like" || c.op === "ilike" ? sql`${t.value.value}` : sqlValue(t.value);
  if (c.op === "eq") return { ok: true, value: sql`(${left} = ${right})` };
  // ne keeps rows whose value is null: they do not have the value.
  if (c.op === "ne") return { ok: true, value: sql`(${left} is distinct from ${right})` };
  return { ok: true, value: sql`(${left} ${SQL_OP[c.op]} ${right})` };
}

/**
 * Compiles a filter to one parameterized SQL condition (values are always bound
 * parameters, never spliced into the text).
 * @example compileFilter(ast, meetingRoomsRepo.fields, { jsonKeys: { attributes: ATTRIBUTE_KEYS } })
 */
export function compileFilter(ast: FilterAst, fields: SqlFieldMap, options: SqlFieldOptions = {}): Result<SQL> {
  const parts: SQL[] = [];
  for (const c of ast.conditions) {
    const r = compileCondition(c, fields, options);
    if (!r.ok) return r;
    parts.push(r.value);
  }
  return { ok: true, value: sql.join(parts, sql` and `) };
}

// ---------------------------------------------------------------------------
// In-memory evaluation (live objects).

/**
 * The fields of a live object: name -> kind, or a nested map for nested objects
 * (`attendees.hosts`).
 */
export interface MemoryFieldMap {
  readonly [field: string]: Exclude<FieldKind, "json"> | MemoryFieldMap;
}

/** Looks a dotted field name up in a memory field map. */
export function resolveMemoryField(name: string, fields: MemoryFieldMap): Result<Exclude<FieldKind, "json">> {
  let map: MemoryFieldMap | Exclude<FieldKind, "json"> = fields;
  for (const part of name.split(".")) {
    if (typeof map === "string" || !Object.hasOwn(map, part)) {
      return { ok: false, error: `unknown field "${name}"; fields: ${Object.keys(fields).sort().join(", ")}` };
    }
    map = map[part] as MemoryFieldMap | Exclude<FieldKind, "json">;
  }
  if (typeof map !== "string") return { ok: false, error: `"${name}" is an object; name one of its keys, as in ${name}.<key>` };
  return { ok: true, value: map };
}

/** Reads a dotted path out of a plain object. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** One position of a LIKE segment: a code point (case-folded for ilike), or null for `_`. */
type LikeItem = string | null;

/** Case folding of one code point for ilike, kept to one code point (as a `u`/`i` RegExp compares). */
function foldCodePoint(c: string): string {
  const up = c.toUpperCase();
  const viaUpper = up.length === c.length || [...up].length === 1 ? up.toLowerCase() : "";
  if ([...viaUpper].length === 1) return viaUpper;
  const lower = c.toLowerCase();
  return [...lower].length === 1 ? lower : c;
}

/** Whether `seg` matches `text` at `at` (the caller checked that it fits). */
function segmentAt(text: readonly string[], at: number, seg: readonly LikeItem[]): boolean {
  for (let j = 0; j < seg.length; j++) {
    const want = seg[j];
    if (want !== null && text[at + j] !== want) return false;
  }
  return true;
}

/**
 * Compiles a SQL LIKE pattern (`%` any run, `_` one character, backslash escapes the
 * next character; a trailing backslash is itself) into a matcher. No backtracking: the
 * pattern is split at `%` into fixed-length segments, the first anchored at the start,
 * the last at the end, and each one between placed at its leftmost fit (leftmost leaves
 * the most room for the rest, so it never needs revisiting). Worst case O(n·m) for a
 * text of n and a pattern of m characters; a RegExp translation was exponential
 * (`%a%a%a%a%b` against 255 `a`: 8.5 s).
 * @example likeMatcher("%555%", false)("15165550000") // true
 */
export function likeMatcher(pattern: string, caseInsensitive: boolean): (text: string) => boolean {
  const fold = caseInsensitive ? foldCodePoint : (c: string) => c;
  const segments: LikeItem[][] = [[]];
  const points = [...pattern];
  for (let i = 0; i < points.length; i++) {
    const c = points[i] as string;
    const current = segments[segments.length - 1] as LikeItem[];
    if (c === "\\" && i + 1 < points.length) current.push(fold(points[++i] as string));
    else if (c === "%") segments.push([]);
    else if (c === "_") current.push(null);
    else current.push(fold(c));
  }
  const first = segments[0] as LikeItem[];
  const last = segments[segments.length - 1] as LikeItem[];
  const middle = segments.slice(1, -1).filter((s) => s.length > 0);
  const minLength = segments.reduce((n, s) => n + s.length, 0);
  return (value: string) => {
    const text = caseInsensitive ? Array.from(value, foldCodePoint) : [...value];
    if (segments.length === 1) return text.length === first.length && segmentAt(text, 0, first);
    if (text.length < minLength) return false;
    if (!segmentAt(text, 0, first)) return false;
    const end = text.length - last.length;
    if (!segmentAt(text, end, last)) return false;
    let at = first.length;
    for (const seg of middle) {
      let found = -1;
      for (let p = at; p + seg.length <= end; p++) {
        if (segmentAt(text, p, seg)) {
          found = p;
          break;
        }
      }
      if (found < 0) return false;
      at = found + seg.length;
    }
    return true;
  };
}

/** A comparable form of a live value for its kind, or null when absent. */
function comparable(kind: Exclude<FieldKind, "json">, v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case "number":
      return typeof v === "number" ? v : Number(v);
    case "boolean":
      return typeof v === "boolean" ? v : String(v).toLowerCase() === "true";
    case "date": {
      const ms = typeof v === "number" ? v : Date.parse(String(v));
      return Number.isNaN(ms) ? null : ms;
    }
    default:
      return String(v);
  }
}

/** The text a like/ilike pattern is matched against (dates as the API prints them). */
function likeText(kind: Exclude<FieldKind, "json">, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (kind === "date") {
    const ms = Date.parse(String(v));
    return Number.isNaN(ms) ? String(v) : new Date(ms).toISOString();
  }
  return String(v);
}

function compareValues(a: string | number | boolean, b: string | number | boolean): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

type Predicate = (obj: unknown) => boolean;

function conditionPredicate(c: Condition, fields: MemoryFieldMap): Result<Predicate> {
  const k = resolveMemoryField(c.field, fields);
  if (!k.ok) return k;
  const kind = k.value;
  const get = (obj: unknown) => getPath(obj, c.field);
  if ("values" in c) {
    const wanted: (string | number | boolean | null)[] = [];
    for (const v of c.values) {
      const t = typedValue(c.field, kind, c.op, v);
      if (!t.ok) return t;
      wanted.push(t.value.value === null ? null : comparable(kind, t.value.value));
    }
    const hit = (obj: unknown) => {
      const v = comparable(kind, get(obj));
      return wanted.some((w) => w === v);
    };
    return { ok: true, value: c.op === "in" ? hit : (obj) => !hit(obj) };
  }
  const t = typedValue(c.field, kind, c.op, c.value);
  if (!t.ok) return t;
  if (t.value.value === null) {
    return { ok: true, value: (obj) => (comparable(kind, get(obj)) === null) === (c.op === "eq") };
  }
  if (c.op === "like" || c.op === "ilike") {
    const matches = likeMatcher(t.value.value, c.op === "ilike");
    return {
      ok: true,
      value: (obj) => {
        const s = likeText(kind, get(obj));
        return s !== null && matches(s);
      },
    };
  }
  const want = comparable(kind, t.value.value) as string | number | boolean;
  const op = c.op;
  return {
    ok: true,
    value: (obj) => {
      const v = comparable(kind, get(obj));
      if (op === "ne") return v !== want;
      if (v === null) return false;
      const cmp = compareValues(v, want);
      switch (op) {
        case "eq":
          return cmp === 0;
        case "gt":
          return cmp > 0;
        case "ge":
          return cmp >= 0;
        case "lt":
          return cmp < 0;
        case "le":
          return cmp <= 0;
      }
    },
  };
}

/**
 * Turns a filter into a predicate over live objects, checking every field and value
 * up front so a bad filter fails before any object is looked at.
 * @example compilePredicate(ast, { muted: "boolean", duration: "number" })
 */
export function compilePredicate(ast: FilterAst, fields: MemoryFieldMap): Result<Predicate> {
  const preds: Predicate[] = [];
  for (const c of ast.conditions) {
    const p = conditionPredicate(c, fields);
    if (!p.ok) return p;
    preds.push(p.value);
  }
  return { ok: true, value: (obj) => preds.every((p) => p(obj)) };
}

/** Orders two live values the way Postgres orders them ascending (nulls last). */
export function compareForSort(kind: Exclude<FieldKind, "json">, a: unknown, b: unknown): number {
  const x = comparable(kind, a);
  const y = comparable(kind, b);
  if (x === null && y === null) return 0;
  if (x === null) return 1;
  if (y === null) return -1;
  return compareValues(x, y);
}
