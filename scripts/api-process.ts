/**
 * The API's process under `bun run start`, a child of the mixer's. It owns what tenants'
 * requests touch: the HTTP server, the database (PGlite runs its queries in the process
 * that opened it) and, on the embedded default, the in-process live store and bus,
 * which it serves to the mixer over the IPC link. So no request, however slow, runs in
 * the process that keeps the mixer's 20 ms clock: not on its thread, not in its heap,
 * not in its garbage collector's helper threads, and at a lower priority (`nice`).
 */
import { eventLogLimits, parseEnv, startApi } from "@conf/api";
import { createConfigReader, openDatabase } from "@conf/db";
import { configureLogging, createLogger } from "@conf/log";
import { createBus, createSessionStore, serveLivePlane } from "@conf/session-store";
import { ParentProcessPort, ThreadLink } from "@conf/thread-link";

export interface ApiProcessStarted {
  readonly url: string;
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  readonly database: string;
}

const link = new ThreadLink(new ParentProcessPort());
let close: (() => Promise<void>) | null = null;

link.expose("api", {
  async start(vars: Record<string, string | undefined>): Promise<ApiProcessStarted> {
    const parsed = parseEnv(vars);
    if (!parsed.ok) throw new Error(parsed.error);
    const env = parsed.value;
    configureLogging({ level: env.LOG_LEVEL });
    const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.PGLITE_DIR });
    const timeouts = { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS };
    const bus = createBus({ redisUrl: env.REDIS_URL, prefix: env.REDIS_PREFIX, timeouts });
    const eventLog = eventLogLimits(env);
    const sessionStore = createSessionStore({
      redisUrl: env.REDIS_URL,
      prefix: env.REDIS_PREFIX,
      reapIntervalMs: 5000,
      timeouts,
      eventLog,
    });
    // The mixer's thread appends to this thread's event log through the link (call.entered, talker.*).
    const stopServing = serveLivePlane(link, { eventLog });
    link.expose("config", createConfigReader(database));
    // The mixer (the parent) exposes its metrics once it runs; until then scrapes leave them out.
    const mixerMetrics = link.proxy<{ text(): Promise<string> }>("metrics", ["text"], 2000);
    const api = await startApi({ env, database, bus, sessionStore, metricsSources: [() => mixerMetrics.text()] });
    close = async () => {
      await api.close();
      await stopServing();
      await sessionStore.close();
      await bus.close();
      await database.close();
    };
    const where = database.kind === "pglite" ? ` (${env.PGLITE_DIR ?? ".data/pglite"})` : "";
    return {
      url: api.url,
      adminToken: api.adminToken,
      adminTokenGenerated: api.adminTokenGenerated,
      database: `${database.kind}${where}, live store ${sessionStore.kind}`,
    };
  },
  async close(): Promise<void> {
    await close?.();
    close = null;
  },
});

// A bug in one request's background work must not take the API down.
process.on("unhandledRejection", (err) =>
  createLogger("api").error({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, "unhandled rejection"),
);
// The mixer's process decides when to stop: it still needs the live store to hang up its
// calls after a Ctrl-C reaches the whole process group. Its exit closes the channel.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => {});
process.on("disconnect", () => process.exit(0));
