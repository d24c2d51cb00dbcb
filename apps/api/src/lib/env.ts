/**
 * The API's environment, parsed once at start-up (the only reader of `process.env`).
 * A bad value exits with a message naming the variable.
 */
import { parseOutboundPolicy } from "@conf/outbound";
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
/** A whole number within [min, max], `fallback` when unset or empty. */
const intVar = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? fallback : Number(v.trim())))
    .pipe(z.number({ error: `must be a whole number from ${min} to ${max}` }).int().min(min).max(max));

/** A 0/1 switch (also true/false, yes/no), off when unset. */
const flagVar = z
  .string()
  .optional()
  .transform((v) => (v ?? "").trim().toLowerCase())
  .pipe(z.enum(["", "0", "1", "false", "true", "no", "yes"], { error: "must be 0 or 1" }))
  .transform((v) => v === "1" || v === "true" || v === "yes");



/** Live events (SSE) and webhooks: the event log, the streams, the deliveries. */
const EventsEnv = {
  /** Events kept per account for SSE resumption (newest first). Default 10000. */
  EVENT_LOG_MAX_EVENTS: intVar(10_000, 100, 1_000_000),
  /** Events older than this are dropped from the log, ms. Default 3600000 (one hour). */
  EVENT_LOG_RETENTION_MS: intVar(3_600_000, 60_000, 7 * 86_400_000),
  /** Events waiting for the webhook dispatcher at most. Default 10000. */
  EVENT_DISPATCH_BACKLOG: intVar(10_000, 100, 1_000_000),
  /** Open event streams per account at most (429 beyond). Default 10. */
  EVENTS_MAX_STREAMS_PER_ACCOUNT: intVar(10, 1, 10_000),
  /** Open event streams per API process at most (429 beyond). Default 1000. */
  EVENTS_MAX_STREAMS: intVar(1000, 1, 1_000_000),
  /** A keep-alive comment after this long without an event, ms (at most 30 s). Default 15000. */
  EVENTS_KEEPALIVE_MS: intVar(15_000, 100, 30_000),
  /** Webhooks per account at most (422 beyond). Default 20. */
  WEBHOOKS_MAX_PER_ACCOUNT: intVar(20, 1, 1000),
  /** A webhook delivery's whole request (connect, send, answer), ms. Default 10000. */
  WEBHOOK_TIMEOUT_MS: intVar(10_000, 100, 60_000),
  /** First retry after this long, doubling each time, ms. Default 5000. */
  WEBHOOK_RETRY_BASE_MS: intVar(5000, 1, 600_000),
  /** The longest pause between retries, ms. Default 3600000. */
  WEBHOOK_RETRY_MAX_MS: intVar(3_600_000, 1, 86_400_000),
  /** Retries stop this long after the event, ms. Default 86400000 (a day). */
  WEBHOOK_RETRY_FOR_MS: intVar(86_400_000, 1000, 7 * 86_400_000),
  /** Deliveries in flight per API process at most. Default 32. */
  WEBHOOK_CONCURRENCY: intVar(32, 1, 1000),
  /** Deliveries in flight to one webhook per API process at most. Default 4. */
  WEBHOOK_CONCURRENCY_PER_WEBHOOK: intVar(4, 1, 100),
  /** Deliveries waiting (first tries and retries) at most, all webhooks. Default 100000. */
  WEBHOOK_QUEUE_MAX: intVar(100_000, 10, 10_000_000),
  /** Deliveries waiting for one webhook at most (newer ones dropped beyond). Default 1000. */
  WEBHOOK_QUEUE_MAX_PER_WEBHOOK: intVar(1000, 1, 1_000_000),
  /** How often the dispatcher looks for new events and due retries, ms. Default 250. */
  WEBHOOK_POLL_MS: intVar(250, 10, 60_000),
};

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
  /** Characters of a `filter` query parameter (default 4000). */
  API_FILTER_MAX_LENGTH: intVar(4000, 1, 1_000_000),
  /** Conditions of one filter (default 50). */
  API_FILTER_MAX_CONDITIONS: intVar(50, 1, 10_000),
  /** Values of one `in`/`notin` list (default 1000). */
  API_FILTER_MAX_LIST_VALUES: intVar(1000, 1, 100_000),
  /** Characters of one like/ilike pattern (default 256). */
  API_FILTER_MAX_PATTERN_LENGTH: intVar(256, 1, 100_000),
  /** Bytes of a request body; larger is a 413 (default 1 MiB). */
  API_MAX_BODY_BYTES: intVar(1_048_576, 1024, 1024 * 1024 * 1024),
  /** Failed Basic logins from one address per window before 429 (default 30). */
  API_LOGIN_FAILURES_PER_ADDRESS: intVar(30, 1, 1_000_000),
  /** Failed Basic logins of one login from one address per window before 429 (default 5). */
  API_LOGIN_FAILURES_PER_LOGIN: intVar(5, 1, 1_000_000),
  /** Length of the failed-login window in seconds (default 300). */
  API_LOGIN_FAILURE_WINDOW_SECONDS: intVar(300, 1, 86_400),
  /** Counters the failed-login limiter keeps at most, oldest dropped first (default 100000). */
  API_LOGIN_LIMITER_MAX_ENTRIES: intVar(100_000, 100, 10_000_000),
  /** 1: the client address is the last hop of X-Forwarded-For (set only behind a proxy that appends it). */
  API_TRUST_PROXY: flagVar,
  /** 1: tenants may send to loopback, private, link-local and the service's own addresses (labs, tests). */
  OUTBOUND_ALLOW_PRIVATE: flagVar,
  /** Hosts and CIDRs tenants may send to even when private, comma-separated (e.g. `10.1.10.190,192.168.0.0/16`). */
  OUTBOUND_ALLOWLIST: optionalString.superRefine((v, ctx) => {
    const r = parseOutboundPolicy({ allowlist: v });
    if (!r.ok) ctx.addIssue({ code: "custom", message: r.error });
  }),
  /** The mixer's SIP address, which tenants may not send to (the API refuses it as a recording_addr). */
  SIP_HOST: optionalString,
  ...EventsEnv,
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
