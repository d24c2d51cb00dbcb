/**
 * The API's environment, parsed once at start-up (the only reader of `process.env`).
 * A bad value exits with a message naming the variable.
 */
import { z } from "zod";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** A whole number of milliseconds, 1 ms to 10 minutes, with a default. */
function msVariable(fallback: number) {
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? fallback : Number(v.trim())))
    .pipe(z.number({ error: "must be a number of milliseconds" }).int().min(1).max(600_000));
}

/** The variables the API reads, with their defaults. */
export const EnvSchema = z.object({
  /** TCP port of the HTTP API (default 3000). */
  API_PORT: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? 3000 : Number(v.trim())))
    .pipe(z.number({ error: "must be a port number" }).int().min(0).max(65_535)),
  /** Address to bind (default all interfaces). */
  API_HOST: optionalString.pipe(z.string().optional()).transform((v) => v ?? "0.0.0.0"),
  /** `postgres://` URL of the config database; unset: embedded PGlite. */
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  /** PGlite data directory when DATABASE_URL is unset (default `.data/pglite`). */
  PGLITE_DIR: optionalString,
  /** `redis://` URL of the live store and the invalidation bus; unset: in-process. */
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// URL")
      .optional(),
  ),
  /** Prefix of Redis keys and channels, shared with the mixer (default `conf:`). */
  REDIS_PREFIX: optionalString.transform((v) => v ?? "conf:"),
  /** A Redis command fails after this many ms without an answer (the request: 503). Default 1000. */
  REDIS_COMMAND_TIMEOUT_MS: msVariable(1000),
  /** A Redis connection attempt gives up after this many ms. Default 2000. */
  REDIS_CONNECT_TIMEOUT_MS: msVariable(2000),
  /** Bearer token of the operator routes; generated and printed when unset. */
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** Origin (and path prefix) of absolute pagination links; from the request when unset. */
  PUBLIC_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
});
export type Env = z.infer<typeof EnvSchema>;

/**
 * Parses an environment; on failure the error message names each bad variable.
 * @example const env = parseEnv(process.env); // { API_PORT: 3000, ... }
 */
export function parseEnv(source: Record<string, string | undefined>): { ok: true; value: Env } | { ok: false; error: string } {
  const r = EnvSchema.safeParse(source);
  if (r.success) return { ok: true, value: r.data };
  const lines = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  return { ok: false, error: `invalid environment:\n  ${lines.join("\n  ")}` };
}

/** Reads `process.env`, exiting with the message when it is invalid. */
export function loadEnv(): Env {
  const r = parseEnv(process.env);
  if (!r.ok) {
    console.error(r.error);
    process.exit(1);
  }
  return r.value;
}
