/**
 * The API's environment, parsed once at start-up (the only reader of `process.env`).
 * The rules live in @conf/config, shared with the mixer; a bad value exits with a
 * message naming the variable.
 */
import { type ApiConfig, apiConfig, apiSchema } from "@conf/config";

/** The variables the API reads, with their defaults. */
export const EnvSchema = apiSchema;
export type Env = ApiConfig;

/**
 * Parses an environment; on failure the error message names each bad variable.
 * @example const env = parseEnv(process.env); // { API_PORT: 3000, ... }
 */
export function parseEnv(source: Record<string, string | undefined>): { ok: true; value: Env } | { ok: false; error: string } {
  const r = apiConfig(source);
  if (r.ok) return r;
  return { ok: false, error: `invalid environment:\n  ${r.lines.join("\n  ")}` };
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
