/** Reads the environment, starts the API, and stops it cleanly on SIGINT/SIGTERM. */
import { configureLogging } from "@conf/log";
import { loadEnv } from "./lib/env.ts";
import { startApi } from "./server.ts";

const env = loadEnv();
configureLogging({ level: env.LOG_LEVEL });
const api = await startApi({ env });
console.log(`api: listening on ${api.url} (docs ${api.url}/docs, OpenAPI ${api.url}/conference/v2/openapi.json)`);
console.log(
  `api: database ${env.DATABASE_URL ? "postgres" : `pglite (${env.PGLITE_DIR ?? ".data/pglite"})`}, live store ${env.REDIS_URL ? "redis" : "in-process"}`,
);
if (api.adminTokenGenerated) console.log(`api: ADMIN_TOKEN not set; generated for this run: ${api.adminToken}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
