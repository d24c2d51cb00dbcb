/**
 * The API's thread under `bun run start`. It owns what tenants' requests touch: the HTTP
 * server, the database (PGlite runs its queries on the thread that opened it) and, on
 * the embedded default, the in-process live store and bus, which it serves to the
 * mixer's thread over the link. So no request, however slow, runs on the thread that
 * keeps the mixer's 20 ms clock.
 */
import { eventLogLimits, parseEnv, startApi } from "@conf/api";
import { createConfigReader, openDatabase } from "@conf/db";
import { createBus, createSessionStore, serveLivePlane } from "@conf/session-store";
import { type LinkPort, setThreadNice, ThreadLink } from "@conf/thread-link";

export interface ApiThreadStarted {
  readonly url: string;
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  readonly database: string;
}

const link = new ThreadLink(globalThis as unknown as LinkPort);
let close: (() => Promise<void>) | null = null;

link.expose("api", {
  async start(vars: Record<string, string | undefined>): Promise<ApiThreadStarted> {
    const parsed = parseEnv(vars);
    if (!parsed.ok) throw new Error(parsed.error);
    const env = parsed.value;
    const nice = vars.API_THREAD_NICE === undefined || vars.API_THREAD_NICE === "" ? 10 : Number(vars.API_THREAD_NICE);
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error("API_THREAD_NICE: must be a whole number from 0 to 19");
    // Where API and mixer share a core (a pinned process, a one-core machine), a busy API
    // must not take the core from the mixer's clock: this thread yields it.
    setThreadNice(nice);
    const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.PGLITE_DIR });
    const timeouts = { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS };
    const bus = createBus({ redisUrl: env.REDIS_URL, prefix: env.REDIS_PREFIX, timeouts });
    const eventLog = eventLogLimits(env);
    const sessionStore = createSessionStore({ redisUrl: env.REDIS_URL, prefix: env.REDIS_PREFIX, reapIntervalMs: 5000, timeouts, eventLog });
    // The mixer's thread appends to this thread's event log through the link (call.entered, talker.*).
    const stopServing = serveLivePlane(link, { eventLog });
    link.expose("config", createConfigReader(database));
    const api = await startApi({ env, database, bus, sessionStore });
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
process.on("unhandledRejection", (err) => console.error("api: unhandled rejection:", err));
