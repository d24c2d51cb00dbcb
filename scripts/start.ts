/**
 * `bun run start`: the API and a mixer node, in two processes. The API's (api-process.ts,
 * a child of this one, at a lower priority) owns the HTTP server and the database, and
 * on the embedded defaults (PGlite, in-process store) the live store and bus too; this
 * process runs the mixer, which reaches what it does not open itself over an IPC link.
 * Whatever a tenant sends, the mixer's clock runs in a process that never handles it.
 * With DATABASE_URL and REDIS_URL, API and mixer may also run apart on any number of
 * machines (`bun run start:api`, `bun run start:mixer`).
 */
import { startConfig } from "@conf/config";
import { configureLogging, createLogger } from "@conf/log";
import type { ConfigReader } from "@conf/db";
import { readMixerEnv, startMixer } from "@conf/mixer";
import { createBus, createSessionStore } from "@conf/session-store";
import { ChildProcessPort, ThreadLink } from "@conf/thread-link";
import type { ApiProcessStarted } from "./api-process.ts";

const mixerEnv = readMixerEnv();
configureLogging({ level: mixerEnv.LOG_LEVEL });
const started = startConfig(process.env);
if (!started.ok) {
  console.error(started.error);
  process.exit(1);
}
const { API_NICE: nice, API_CPUS: cpus, API_SCHED: sched } = started.value;
// chrt and taskset come with util-linux; a system without them still starts, under nice.
const idle = sched === "idle" && Bun.which("chrt") !== null;
if (sched === "idle" && !idle) console.error("conference: API_SCHED=idle needs chrt (util-linux); running the API under nice");
const pin = cpus && Bun.which("taskset") !== null;
if (cpus && !pin) console.error("conference: API_CPUS needs taskset (util-linux); the API is not pinned");
const port = new ChildProcessPort();
// `nice` (or SCHED_IDLE) before the program starts, so every thread of the API (its
// garbage collector's included) yields a shared core to the mixer's clock.
const child = Bun.spawn({
  cmd: [
    ...(pin ? ["taskset", "-c", cpus] : []),
    ...(idle ? ["chrt", "--idle", "0"] : ["nice", "-n", String(nice)]),
    process.execPath,
    new URL("./api-process.ts", import.meta.url).pathname,
  ],
  ipc: port.ipc,
  serialization: "advanced",
  stdin: "ignore",
  stdout: "inherit",
  stderr: "inherit",
});
port.attach(child);
const link = new ThreadLink(port, { callTimeoutMs: 10_000 });
// Starting PGlite and migrating can take a while on a cold machine.
const apiProcess = link.proxy<{
  start(vars: Record<string, string | undefined>): Promise<ApiProcessStarted>;
  close(): Promise<void>;
}>("api", ["start", "close"], 120_000);
let stopping = false;
void child.exited.then((code) => {
  if (stopping) return;
  // The embedded live store and the database lived there: nothing can go on without them.
  console.error(`conference: the API process exited (code ${code}); exiting`);
  process.exit(1);
});

let api: ApiProcessStarted;
try {
  api = await apiProcess.start({ ...process.env });
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
if (mixerEnv.MIXER_STATS_SECONDS > 0) {
  // Beside the clock's figures: what the mixer asked of the API's process (the embedded
  // store and config) and what it was told, so a busy API's effect on the mixer can be read.
  const linkLog = createLogger("link");
  setInterval(() => {
    const traffic = [...link.takeTraffic()].sort((x, y) => y[1] - x[1]);
    const total = traffic.reduce((a, [, n]) => a + n, 0);
    linkLog.info(`${total} messages: ${traffic.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  }, mixerEnv.MIXER_STATS_SECONDS * 1000).unref();
}
// The API's GET /metrics merges these (calls, meetings, SIP, RTP, ticks) with its own.
link.expose("metrics", { text: () => mixer.metrics.metrics() });

console.log(`conference: API on ${api.url} (docs ${api.url}/docs)`);
console.log(
  `conference: SIP on udp ${mixerEnv.SIP_HOST}:${mixer.sipPort}, RTP ${mixerEnv.RTP_PORT_MIN}-${mixerEnv.RTP_PORT_MAX}`,
);
if (mixer.sipWsPort !== null) console.log(`conference: SIP over WebSocket on ws://${mixerEnv.SIP_HOST}:${mixer.sipWsPort}`);
console.log(`conference: database ${api.database}`);
if (api.adminTokenGenerated) console.log(`conference: ADMIN_TOKEN=${api.adminToken}`);
console.log("conference: ready");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    // Whatever hangs on the way down (a peer that never answers a BYE, a store call),
    // the service is gone within this; the API's process with it.
    setTimeout(() => {
      console.error("conference: stopping took over 15 s; exiting anyway");
      child.kill("SIGKILL");
      process.exit(1);
    }, 15_000);
    await mixer.close();
    await sessionStore.close();
    await bus.close();
    await apiProcess.close().catch((e: unknown) => console.error("conference: API close failed", e));
    link.close();
    // It ignores signals (see api-process.ts) and leaves when its IPC channel closes.
    child.disconnect();
    const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await child.exited;
    clearTimeout(killer);
    process.exit(0);
  });
}

// A bug in one call's background work must not take every other call down with it.
process.on("unhandledRejection", (err) =>
  createLogger("conference").error(
    { err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    "unhandled rejection",
  ),
);
