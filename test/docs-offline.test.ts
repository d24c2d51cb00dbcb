/**
 * /docs renders the API reference with no internet: the service and a headless chromium
 * run in a network namespace that holds only loopback, and the page the browser built
 * (after its scripts ran) lists the API's operations.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM_FLAGS, inLoopbackNamespace } from "./lib/netns.ts";

const ROOT = join(import.meta.dir, "..");

test("the /docs page renders the reference in a browser that can reach nothing but loopback", async () => {
  const dir = mkdtempSync(join(tmpdir(), "conf-docs-"));
  try {
    const script = `
      cd ${JSON.stringify(ROOT)}
      env -u DATABASE_URL -u REDIS_URL PGLITE_DIR=${dir}/pglite API_PORT=3000 SIP_PORT=5060 ADMIN_TOKEN=docs-test-token-0123456789 \\
        bun run scripts/start.ts > ${dir}/service.log 2>&1 &
      service=$!
      trap 'kill $service 2>/dev/null || true' EXIT
      for _ in $(seq 1 120); do grep -q "conference: ready" ${dir}/service.log && break; sleep 0.5; done
      grep -q "conference: ready" ${dir}/service.log || { cat ${dir}/service.log >&2; exit 3; }
      chromium ${CHROMIUM_FLAGS} --user-data-dir=${dir}/chromium --virtual-time-budget=15000 --dump-dom http://127.0.0.1:3000/docs 2>/dev/null
    `;
    const r = await inLoopbackNamespace(script, 110_000);
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.slice(-2000)}`);
    // The title and operations are drawn by the page's script from the OpenAPI document:
    // present only if the script loaded from our server and ran.
    expect(r.stdout).toContain("Conference v2 API");
    expect(r.stdout).toContain("Get current account");
    expect(r.stdout).toContain("/conference/v2/accounts/whoami");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
