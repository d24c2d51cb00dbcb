/**
 * `bun run start`: the API and a mixer node in one process, on two threads. The API's
 * thread (api-thread.ts) owns the HTTP server and the database, and on the embedded
 * defaults (PGlite, in-process store) the live store and bus too; this thread runs the
 * mixer, which reaches what it does not open itself over a thread link. Whatever a
 * tenant sends, the mixer's clock runs on a thread that never handles it. With
 * DATABASE_URL and REDIS_URL, API and mixer may also run apart (`bun run start:api`,
 * `bun run start:mixer`).
 */
import type { ConfigReader } from "@conf/db";
import { readMixerEnv, startMixer } from "@conf/mixer";
import { createBus, createSessionStore } from "@conf/session-store";
import { ThreadLink } from "@conf/thread-link";
import type { ApiThreadStarted } from "./api-thread.ts";

const mixerEnv = readMixerEnv();
const worker = new Worker(new URL("./api-thread.ts", import.meta.url).href);
const link = new ThreadLink(worker, { callTimeoutMs: 10_000 });
// Starting PGlite and migrating can take a while on a cold machine.
const apiThread = link.proxy<{ start(vars: Record<string, string | undefined>): Promise<ApiThreadStarted>; close(): Promise<void> }>(
  "api",
  ["start", "close"],
  120_000,
);
let stopping = false;
worker.addEventListener("close", () => {
  if (stopping) return;
  // The embedded live store and the database lived there: nothing can go on without them.
  console.error("conference: the API thread stopped; exiting");
  process.exit(1);
});

let api: ApiThreadStarted;
try {
  api = await apiThread.start({ ...process.env });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
const config = mixerEnv.DATABASE_URL
  ? undefined
  : link.proxy<ConfigReader>("config", ["findNumber", "findAccessCode", "getAccount", "getMeetingRoom"]);
const shared = mixerEnv.REDIS_URL ? {} : { link };
const timeouts = { commandTimeoutMs: mixerEnv.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: mixerEnv.REDIS_CONNECT_TIMEOUT_MS };
const bus = createBus({ redisUrl: mixerEnv.REDIS_URL, prefix: mixerEnv.REDIS_PREFIX, timeouts, ...shared });
const sessionStore = createSessionStore({
  redisUrl: mixerEnv.REDIS_URL,
  prefix: mixerEnv.REDIS_PREFIX,
  timeouts,
  restoreGraceMs: mixerEnv.STORE_RESTORE_GRACE_MS,
  ...shared,
});
const mixer = await startMixer({ env: mixerEnv, config, bus, sessionStore });

console.log(`conference: API on ${api.url} (docs ${api.url}/docs)`);
console.log(`conference: SIP on udp ${mixerEnv.SIP_HOST}:${mixer.sipPort}, RTP ${mixerEnv.RTP_PORT_MIN}-${mixerEnv.RTP_PORT_MAX}`);
console.log(`conference: database ${api.database}`);
if (api.adminTokenGenerated) console.log(`conference: ADMIN_TOKEN=${api.adminToken}`);
console.log("conference: ready");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await mixer.close();
    await sessionStore.close();
    await bus.close();
    await apiThread.close().catch((e: unknown) => console.error("conference: API close failed", e));
    link.close();
    worker.terminate();
    process.exit(0);
  });
}

// A bug in one call's background work must not take every other call down with it.
process.on("unhandledRejection", (err) => console.error("unhandled rejection:", err));
