/**
 * @conf/config: every variable the service reads, one rule each, and the compositions
 * each entry point parses once at start-up (the only readers of `process.env`).
 *
 * ```ts
 * const r = apiConfig(process.env); // { ok: true, value: { API_PORT: 3000, ... } }
 * if (!r.ok) console.error(r.error); // "DATABASE_URL: must be a postgres:// URL\nAPI_PORT: must be a port number"
 * ```
 */
import { type OutboundPolicy, parseOutboundPolicy } from "@conf/outbound";
import { z } from "zod";
import { apiVars, databaseVars, eventsVars, loggingVars, mixerVars, outboundVars, redisVars } from "./schemas.ts";
import { type ConfigResult, intVar, optionalString, parseWith, stringVar } from "./vars.ts";

export * from "./schemas.ts";
export * from "./vars.ts";

/** The variables the API reads, with their defaults. */
export const apiSchema = z.object({
  ...databaseVars,
  ...redisVars,
  ...outboundVars,
  ...loggingVars,
  ...apiVars,
  ...eventsVars,
});
export type ApiConfig = z.infer<typeof apiSchema>;

/** The variables a mixer node reads, with their defaults. */
export const mixerSchema = z.object({
  ...databaseVars,
  ...redisVars,
  ...outboundVars,
  ...loggingVars,
  ...mixerVars,
});
export type MixerConfig = z.infer<typeof mixerSchema>;

/**
 * The API's configuration, or one `NAME: message` line per bad variable.
 * @example apiConfig({ DATABASE_URL: "" }) // { ok: true, value: { DATABASE_URL: undefined, ... } }
 */
export function apiConfig(env: Record<string, string | undefined>): ConfigResult<ApiConfig> {
  return parseWith(apiSchema, env);
}

/** `bun run start` itself (the API's process is its child). */
export const startSchema = z.object({
  /** Niceness of the API's process, so the mixer's clock wins a shared core (0-19, default 10). */
  API_NICE: intVar(10, 0, 19),
  /**
   * How the API's process yields a shared core: `nice` (at API_NICE) or `idle` (Linux
   * SCHED_IDLE through `chrt`: it runs only when nothing else wants the core, and a
   * waking mixer takes the core at once). Default nice.
   */
  API_SCHED: stringVar("nice")
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(["nice", "idle"], { error: "must be nice or idle" })),
  /**
   * CPUs the API's process may run on (a `taskset` list such as `1` or `2-3`); unset:
   * wherever the kernel puts it. Keeps the API's work off the cores the mixer's clock
   * runs on when the machine is pinned.
   */
  API_CPUS: optionalString.pipe(
    z
      .string()
      .regex(/^\d{1,4}(-\d{1,4})?(,\d{1,4}(-\d{1,4})?)*$/, "must be a CPU list such as 1 or 2-3,5")
      .optional(),
  ),
});

/** What `bun run start` reads for itself, or one `NAME: message` line per bad variable. */
export function startConfig(env: Record<string, string | undefined>): ConfigResult<z.infer<typeof startSchema>> {
  return parseWith(startSchema, env);
}

/** What a worker pool needs of the environment. */
export interface WorkerEnv {
  readonly MIXER_WORKERS: number;
  /** Worker i serves its own /metrics on this port + i. */
  readonly MIXER_METRICS_PORT?: number | undefined;
  readonly REDIS_URL?: string | undefined;
  readonly DATABASE_URL?: string | undefined;
}

/** Why a worker pool cannot start with this environment, or null. */
export function workersUnsupported(env: WorkerEnv): string | null {
  if (env.MIXER_WORKERS === 0) return null;
  if (!env.REDIS_URL) return "MIXER_WORKERS needs REDIS_URL: the live store must be shared between processes";
  if (!env.DATABASE_URL) return "MIXER_WORKERS needs DATABASE_URL: the embedded database cannot be shared between processes";
  return null;
}

/**
 * A mixer node's configuration (the variables and how they go together), or one
 * `NAME: message` line per bad variable.
 * @example mixerConfig({ RTP_PORT_MIN: "30000", RTP_PORT_MAX: "20000" }) // { ok: false, error: "RTP_PORT_MIN: must not exceed RTP_PORT_MAX", ... }
 */
export function mixerConfig(env: Record<string, string | undefined>): ConfigResult<MixerConfig> {
  const r = parseWith(mixerSchema, env);
  if (!r.ok) return r;
  const lines: string[] = [];
  if (r.value.RTP_PORT_MIN > r.value.RTP_PORT_MAX) lines.push("RTP_PORT_MIN: must not exceed RTP_PORT_MAX");
  const workers = workersUnsupported(r.value);
  if (workers) lines.push(`MIXER_WORKERS: ${workers}`);
  if (r.value.MIXER_METRICS_PORT !== undefined && r.value.ADMIN_TOKEN === undefined) {
    lines.push("MIXER_METRICS_PORT: needs ADMIN_TOKEN (scrapes must carry it)");
  }
  return lines.length ? { ok: false, error: lines.join("\n"), lines } : r;
}

/**
 * The outbound policy of a parsed configuration (its SIP_HOST counts as the service's own).
 * @example outboundPolicy(mixer) // { allowPrivate: false, allowlist: [], own: [...] }
 */
export function outboundPolicy(config: {
  readonly OUTBOUND_ALLOW_PRIVATE: boolean;
  readonly OUTBOUND_ALLOWLIST?: string | undefined;
  readonly SIP_HOST?: string | undefined;
}): OutboundPolicy {
  const r = parseOutboundPolicy({
    allowPrivate: config.OUTBOUND_ALLOW_PRIVATE,
    allowlist: config.OUTBOUND_ALLOWLIST,
    ownHosts: [config.SIP_HOST],
  });
  // The schema has checked the allowlist already.
  if (!r.ok) throw new Error(`OUTBOUND_ALLOWLIST: ${r.error}`);
  return r.value;
}
