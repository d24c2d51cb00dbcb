/**
 * PATCH and PUT semantics of the reference, the API's half.
 *
 * PATCH merges nested objects by four rules: a key present in the object is replaced, a
 * new key is added, a key sent as `null` is removed, and `?nested_objects=replace`
 * replaces the whole nested object. Arrays (such as `access_codes`) are replaced whole.
 * The repositories apply the merge atomically in SQL (`jsonb_strip_nulls(col || patch)`),
 * so two concurrent PATCHes of different keys both land; this module prepares the body:
 * it keeps the updatable fields, drops nulls from objects that replace, and checks that
 * read-only fields, when sent, carry their current value (so GET, edit, PUT round-trips).
 *
 * PUT replaces the object and, as the reference says, requires the entire object: the
 * route's body schema (`putBodyOf`) refuses a body missing an updatable field with a 422
 * naming each, before anything is read or written. The account's password is the one
 * exception, since the object the API returns never carries it.
 */
import { badRequest, invalid, item } from "./errors.ts";

/** A plain JSON object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Removes the keys whose value is null, recursively: in an object that replaces, null means "absent". */
export function dropNulls(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue;
    out[k] = isPlainObject(x) ? dropNulls(x) : x;
  }
  return out;
}

/** How a PATCH treats nested objects. */
export type NestedObjects = "merge" | "replace";

/** Reads `?nested_objects=` (merge by default); any other value is a 400. */
export function nestedObjectsMode(raw: string | undefined): NestedObjects {
  if (raw === undefined || raw === "" || raw === "merge") return "merge";
  if (raw === "replace") return "replace";
  throw badRequest("nested_objects", `nested_objects must be replace (or merge), got "${raw}"`);
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Throws a 422 naming every read-only field the body sends with a value other than the
 * object's current one (`current` null: the object does not exist yet, so any value differs).
 * @example checkReadOnly({ login: "x" }, account, ["account_sid", "date_created", "login"]) // 422 login
 */
export function checkReadOnly(body: object, current: object | null, readOnly: readonly string[]): void {
  const b = body as Record<string, unknown>;
  const cur = current as Record<string, unknown> | null;
  const bad = readOnly.filter((f) => Object.hasOwn(b, f) && (cur === null || !jsonEqual(b[f], cur[f])));
  if (bad.length) throw invalid(bad.map((f) => item(f, "field is read only and cannot be changed")));
}

/**
 * The updatable fields the body sends. For `replace` semantics (PUT, POST, PATCH with
 * `nested_objects=replace`), nested objects lose their null keys.
 */
export function pickUpdatable<K extends string>(
  body: object,
  updatable: readonly K[],
  replaceNested: boolean,
): Partial<Record<K, unknown>> {
  const b = body as Record<string, unknown>;
  const out: Partial<Record<K, unknown>> = {};
  for (const f of updatable) {
    if (!Object.hasOwn(b, f)) continue;
    const v = b[f];
    out[f] = replaceNested && isPlainObject(v) ? dropNulls(v) : v;
  }
  return out;
}
