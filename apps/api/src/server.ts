/**
 * Starting the API as a server: open the database, the bus and the live store (or take
 * them from the caller, e.g. a one-process start that also runs the mixer), build the
 * app, listen. `main.ts` calls this with the parsed environment.
 */
import { invalidationChannel } from "@conf/access-router";
import { type Database, openDatabase } from "@conf/db";
import { type OutboundPolicy, parseOutboundPolicy } from "@conf/outbound";
import {
  type Bus,
  createBus,
  createDeliveryQueue,
  createSessionStore,
  type EventLogLimits,
  type SessionStore,
} from "@conf/session-store";
import { startWebhookDispatcher } from "./lib/webhook-dispatcher.ts";
import { createRepositories } from "@conf/db";
import { createApp } from "./app.ts";
import { createCredentialCache } from "./lib/auth.ts";
import { credentialScope } from "./lib/context.ts";
import { createLoginLimiter } from "./lib/login-limiter.ts";
import { createApiMetrics, type MetricsSource } from "./lib/metrics.ts";
import { connectReadCache, createReadCache } from "./lib/read-cache.ts";
import type { Env } from "./lib/env.ts";

export interface StartApiOptions {
  readonly env: Env;
  /** An open database to use (not closed by `close()`); default: opened from the environment. */
  readonly database?: Database;
  /** A bus to use (not closed by `close()`); default: created from REDIS_URL. */
  readonly bus?: Bus;
  /** A live store to use (not closed by `close()`); default: created from REDIS_URL. */
  readonly sessionStore?: SessionStore;
  /** Other processes' metrics that GET /metrics merges in (the mixer's under `bun run start`). */
  readonly metricsSources?: readonly MetricsSource[];
}

export interface RunningApi {
  /** `http://host:port` the server listens on. */
  readonly url: string;
  /** The operator's bearer token (generated when ADMIN_TOKEN is unset). */
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  /** Stops listening and closes what `startApi` opened. Idempotent. */
  close(): Promise<void>;
}

/** The outbound policy of the environment (checked when the environment was parsed). */
export function outboundPolicyOf(env: Env): OutboundPolicy {
  const r = parseOutboundPolicy({
    allowPrivate: env.OUTBOUND_ALLOW_PRIVATE,
    allowlist: env.OUTBOUND_ALLOWLIST,
    ownHosts: [env.SIP_HOST, env.API_HOST],
  });
  if (!r.ok) throw new Error(`OUTBOUND_ALLOWLIST: ${r.error}`);
  return r.value;
}

/** The event log's bounds from the environment (EVENT_LOG_*, EVENT_DISPATCH_BACKLOG). */
export function eventLogLimits(env: Env): EventLogLimits {
  return {
    maxEvents: env.EVENT_LOG_MAX_EVENTS,
    retentionMs: env.EVENT_LOG_RETENTION_MS,
    dispatchBacklog: env.EVENT_DISPATCH_BACKLOG,
  };
}

/** A random operator token: 32 bytes, base64url. */
export function generateAdminToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/**
 * Starts the API server.
 * @example const api = await startApi({ env: loadEnv() }); console.log(api.url);
 */
export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const { env } = options;
  const owned: (() => Promise<unknown>)[] = [];
  const database = options.database ?? (await openDatabase({ url: env.DATABASE_URL, dataDir: env.PGLITE_DIR }));
  if (!options.database) owned.push(() => database.close());
  const timeouts = { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS };
  const bus = options.bus ?? createBus({ redisUrl: env.REDIS_URL, prefix: env.REDIS_PREFIX, timeouts });
  if (!options.bus) owned.push(() => bus.close());
  const sessionStore =
    options.sessionStore ??
    createSessionStore({ redisUrl: env.REDIS_URL, prefix: env.REDIS_PREFIX, timeouts, eventLog: eventLogLimits(env) });
  if (!options.sessionStore) owned.push(() => sessionStore.close());

  // A password changed (or an account deleted) through another API instance drops our
  // cached logins of that account too.
  const authCache = createCredentialCache();
  const unsubscribe = await bus.subscribe(invalidationChannel, (message) => {
    const scope = credentialScope(message);
    if (!scope.drop) return;
    if (scope.accountSid) authCache.dropAccount(scope.accountSid);
    else authCache.clear();
  });

  // GET bodies kept in memory, as long as the bus and the store's events tell us what changed.
  const readCache = createReadCache();
  const disconnectReadCache = await connectReadCache(readCache, { bus, events: sessionStore.events });

  const adminToken = env.ADMIN_TOKEN ?? generateAdminToken();
  const eventStreams = {
    maxPerAccount: env.EVENTS_MAX_STREAMS_PER_ACCOUNT,
    maxTotal: env.EVENTS_MAX_STREAMS,
    keepAliveMs: env.EVENTS_KEEPALIVE_MS,
  };
  // Webhooks: deliveries queued where the live store is (Redis, or this process).
  const policy = outboundPolicyOf(env);
  const deliveries = createDeliveryQueue({
    redisUrl: env.REDIS_URL,
    prefix: env.REDIS_PREFIX,
    timeouts,
    limits: { maxTotal: env.WEBHOOK_QUEUE_MAX, maxPerWebhook: env.WEBHOOK_QUEUE_MAX_PER_WEBHOOK },
  });
  const repos = createRepositories(database);
  const dispatcher = startWebhookDispatcher({
    log: sessionStore.eventLog,
    queue: deliveries.queue,
    webhooksOf: (accountSid) => repos.webhooks.ofAccount(accountSid),
    policy,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: env.WEBHOOK_RETRY_MAX_MS,
    retryForMs: env.WEBHOOK_RETRY_FOR_MS,
    concurrency: env.WEBHOOK_CONCURRENCY,
    concurrencyPerWebhook: env.WEBHOOK_CONCURRENCY_PER_WEBHOOK,
    pollMs: env.WEBHOOK_POLL_MS,
  });
  const webhooks = { policy, maxPerAccount: env.WEBHOOKS_MAX_PER_ACCOUNT, onChange: (a: string) => dispatcher.invalidate(a) };
  const app = createApp({
    database,
    adminToken,
    bus,
    sessionStore,
    authCache,
    readCache,
    publicUrl: env.PUBLIC_URL,
    join: { wsPort: env.SIP_WS_PORT, wsUrl: env.SIP_WS_URL },
    eventStreams,
    webhooks,
    repos,
    metrics: createApiMetrics({ sources: options.metricsSources }),
    maxBodyBytes: env.API_MAX_BODY_BYTES,
    outbound: policy,
    trustProxy: env.API_TRUST_PROXY,
    loginLimiter: createLoginLimiter({
      failuresPerAddress: env.API_LOGIN_FAILURES_PER_ADDRESS,
      failuresPerLogin: env.API_LOGIN_FAILURES_PER_LOGIN,
      windowMs: env.API_LOGIN_FAILURE_WINDOW_SECONDS * 1000,
      maxEntries: env.API_LOGIN_LIMITER_MAX_ENTRIES,
    }),
    filterLimits: {
      maxLength: env.API_FILTER_MAX_LENGTH,
      maxConditions: env.API_FILTER_MAX_CONDITIONS,
      maxListValues: env.API_FILTER_MAX_LIST_VALUES,
      maxPatternLength: env.API_FILTER_MAX_PATTERN_LENGTH,
    },
  });
  const server = Bun.serve({ port: env.API_PORT, hostname: env.API_HOST, fetch: app.fetch });
  const host = env.API_HOST === "0.0.0.0" ? "127.0.0.1" : env.API_HOST;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${server.port}`,
    adminToken,
    adminTokenGenerated: env.ADMIN_TOKEN === undefined,
    close() {
      closing ??= (async () => {
        await server.stop();
        await dispatcher.close();
        await deliveries.close();
        await disconnectReadCache();
        await unsubscribe();
        for (const close of owned.reverse()) await close().catch((e) => console.error("api: close failed", e));
      })();
      return closing;
    },
  };
}
