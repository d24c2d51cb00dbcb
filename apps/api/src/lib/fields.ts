/**
 * Field filtering: `include_fields` and `exclude_fields`, comma-separated top-level field
 * names, on lists (applied to each item) and on single objects.
 */
import { badRequest } from "./errors.ts";

/** A parsed field selection; `null` members mean "not given". */
export interface FieldSelection {
  readonly include: readonly string[] | null;
  readonly exclude: readonly string[] | null;
}

function parseList(name: string, raw: string | undefined, known: readonly string[]): string[] | null {
  if (raw === undefined) return null;
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!known.includes(n)) throw badRequest(name, `unknown field "${n}" in ${name}; fields: ${known.join(", ")}`);
  }
  return names;
}

/**
 * Reads `include_fields` / `exclude_fields`, answering 400 for a name the object does not have.
 * @example parseFieldSelection({ exclude_fields: "attributes" }, ["name", "attributes"])
 */
export function parseFieldSelection(
  query: Readonly<Record<string, string | undefined>>,
  known: readonly string[],
): FieldSelection {
  return {
    include: parseList("include_fields", query.include_fields, known),
    exclude: parseList("exclude_fields", query.exclude_fields, known),
  };
}

/**
 * Applies a selection to one object: keep only the included fields, then drop the
 * excluded ones. Typed as the whole object because the routes' response schemas
 * document the whole object; fewer fields come back only when the client asks so.
 */
export function selectFields<T extends object>(obj: T, sel: FieldSelection): T {
  if (!sel.include && !sel.exclude) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (sel.include && !sel.include.includes(k)) continue;
    if (sel.exclude?.includes(k)) continue;
    out[k] = v;
  }
  return out as T;
}
