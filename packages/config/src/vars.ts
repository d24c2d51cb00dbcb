/**
 * The little rules every variable is read by, defined once. All of them trim, and an
 * empty value counts as unset (a shell's `FOO=` or a compose file's `FOO:` means "not
 * given", never "the empty string" nor zero).
 */
import { z } from "zod";

/** Unset, empty and blank are the same: undefined; otherwise trimmed. */
export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** A trimmed string with a default when unset or empty. */
export const stringVar = (fallback: string) => optionalString.transform((v) => v ?? fallback);

function numberFrom(fallback: number | undefined) {
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? fallback : Number(v.trim())));
}

function range(min: number, max: number): string {
  return max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
}

/** A whole number within [min, max], `fallback` when unset or empty. */
export const intVar = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = `must be a whole number ${range(min, max)}`;
  return numberFrom(fallback).pipe(z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
};

/** A whole number within [min, max], or undefined when unset or empty. */
export const optionalIntVar = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = `must be a whole number ${range(min, max)}`;
  return numberFrom(undefined).pipe(z.number({ error }).int({ error }).min(min, { error }).max(max, { error }).optional());
};

/** A number (fractions allowed) within [min, max], `fallback` when unset or empty. */
export const numVar = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = `must be a number ${range(min, max)}`;
  return numberFrom(fallback).pipe(z.number({ error }).min(min, { error }).max(max, { error }));
};

/** A whole number of milliseconds, 1 ms to 10 minutes unless told, with a default. */
export const msVar = (fallback: number, min = 1, max = 600_000) => {
  const error = `must be a whole number of milliseconds ${range(min, max)}`;
  return numberFrom(fallback).pipe(z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
};

/** A TCP or UDP port (0: any free one), `fallback` when unset or empty. */
export const portVar = (fallback: number) => {
  const error = "must be a port number";
  return numberFrom(fallback).pipe(z.number({ error }).int({ error }).min(0, { error }).max(65_535, { error }));
};

/** A 0/1 switch (also true/false, yes/no), off when unset. */
export const flagVar = z
  .string()
  .optional()
  .transform((v) => (v ?? "").trim().toLowerCase())
  .pipe(z.enum(["", "0", "1", "false", "true", "no", "yes"], { error: "must be 0 or 1" }))
  .transform((v) => v === "1" || v === "true" || v === "yes");

/** An optional URL whose scheme matches `scheme` (e.g. /^rediss?:\/\//). */
export const urlVar = (scheme: RegExp, message: string) => optionalString.pipe(z.string().regex(scheme, message).optional());

/** Parse results: the value, or one readable line per bad variable. */
export type ConfigResult<T> = { ok: true; value: T } | { ok: false; error: string; lines: string[] };

/** Parses `source` with `schema`; each issue becomes a `NAME: message` line. */
export function parseWith<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): ConfigResult<z.infer<S>> {
  const r = schema.safeParse(source);
  if (r.success) return { ok: true, value: r.data };
  const lines = r.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`);
  return { ok: false, error: lines.join("\n"), lines };
}
