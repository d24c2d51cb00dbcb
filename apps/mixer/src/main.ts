/** Reads the environment, starts a mixer node, and stops it cleanly on SIGINT/SIGTERM. */
import { readMixerEnv } from "./env.ts";
import { startMixer } from "./server.ts";

const mixer = await startMixer({ env: readMixerEnv() });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    mixer.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

// A bug in one call's background work must not take every other call down with it.
process.on("unhandledRejection", (err) => console.error("unhandled rejection:", err));
