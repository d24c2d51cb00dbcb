/**
 * `bun run start`: the API and a mixer node in one process, sharing one database, one
 * live store and one bus. On the embedded defaults (PGlite, in-process store) they
 * must share a process; with DATABASE_URL and REDIS_URL they may also run apart
 * (`bun run start:api`, `bun run start:mixer`).
 */
import { parseEnv, startApi } from "@conf/api";
import { openDatabase } from "@conf/db";
import { readMixerEnv, startMixer } from "@conf/mixer";
import { createBus, createSessionStore } from "@conf/session-store";

const parsed = parseEnv(process.env);
if (!parsed.ok) {
  console.error(parsed.error);
  process.exit(1);
}
const apiEnv = parsed.value;
const mixerEnv = readMixerEnv();
const database = await openDatabase({ url: apiEnv.DATABASE_URL, dataDir: apiEnv.PGLITE_DIR });
const timeouts = { commandTimeoutMs: mixerEnv.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: mixerEnv.REDIS_CONNECT_TIMEOUT_MS };
const bus = createBus({ redisUrl: mixerEnv.REDIS_URL, prefix: mixerEnv.REDIS_PREFIX, timeouts });
const sessionStore = createSessionStore({
  redisUrl: mixerEnv.REDIS_URL,
  prefix: mixerEnv.REDIS_PREFIX,
  reapIntervalMs: 5000,
  timeouts,
  restoreGraceMs: mixerEnv.STORE_RESTORE_GRACE_MS,
});
const api = await startApi({ env: apiEnv, database, bus, sessionStore });
const mixer = await startMixer({ env: mixerEnv, database, bus, sessionStore });

console.log(`conference: API on ${api.url} (docs ${api.url}/docs)`);
console.log(`conference: SIP on udp ${mixerEnv.SIP_HOST}:${mixer.sipPort}, RTP ${mixerEnv.RTP_PORT_MIN}-${mixerEnv.RTP_PORT_MAX}`);
console.log(
  `conference: database ${database.kind}${database.kind === "pglite" ? ` (${apiEnv.PGLITE_DIR ?? ".data/pglite"})` : ""}, live store ${sessionStore.kind}`,
);
if (api.adminTokenGenerated) console.log(`conference: ADMIN_TOKEN=${api.adminToken}`);
console.log("conference: ready");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await mixer.close();
    await api.close();
    await sessionStore.close();
    await bus.close();
    await database.close();
    process.exit(0);
  });
}

// A bug in one call's background work must not take every other call down with it.
process.on("unhandledRejection", (err) => console.error("unhandled rejection:", err));
