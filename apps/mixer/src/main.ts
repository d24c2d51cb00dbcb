/** Reads the environment, starts a mixer node, and stops it cleanly on SIGINT/SIGTERM. */
import { configureLogging, createLogger } from "@conf/log";
import { readMixerEnv } from "./env.ts";
import { startMixer } from "./server.ts";

const env = readMixerEnv();
configureLogging({ level: env.LOG_LEVEL });
const log = createLogger("mixer");
const mixer = await startMixer({ env });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    mixer.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

// A bug in one call's background work must not take every other call down with it.
process.on("unhandledRejection", (err) =>
  log.error({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, "unhandled rejection"),
);

// A worker of a front that died (even by SIGKILL) must not live on holding its ports.
if (env.MIXER_PARENT_PID !== undefined) {
  const parent = env.MIXER_PARENT_PID;
  setInterval(() => {
    if (process.ppid !== parent) {
      log.warn("the front process is gone; stopping");
      mixer.close().finally(() => process.exit(0));
    }
  }, 1000).unref();
}
