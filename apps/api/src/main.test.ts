/**
 * Start-up refuses a bad environment before it opens anything: `main.ts` run as the
 * operator runs it, with an ADMIN_TOKEN too short to be a secret.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "main.ts");

async function start(adminToken: string): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "api-main-"));
  // Only what start-up reads; were the token accepted, the API would listen on a free
  // loopback port over a throwaway PGlite, and the timeout below would stop it.
  const proc = Bun.spawn([process.execPath, MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      ADMIN_TOKEN: adminToken,
      API_PORT: "0",
      API_HOST: "127.0.0.1",
      PGLITE_DIR: join(dir, "pglite"),
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  try {
    const stderr = await new Response(proc.stderr).text();
    return { code: await proc.exited, stderr };
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

test("an ADMIN_TOKEN under 16 characters stops start-up with a message naming it", async () => {
  for (const token of ["short", "fifteen-chars-x", "  padded-to-16  "]) {
    const r = await start(token);
    expect([token, r.code]).toEqual([token, 1]);
    expect(r.stderr).toContain("ADMIN_TOKEN: must be at least 16 characters");
  }
}, 60_000);
