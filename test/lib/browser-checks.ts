/**
 * The browser tests' side of their scenarios (lib/browser-scenario.ts and
 * lib/browser-workers-scenario.ts): running one in a loopback namespace, and the checks
 * both make of what it saw.
 */
import { expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inLoopbackNamespace } from "./netns.ts";

const ROOT = join(import.meta.dir, "..", "..");

/**
 * Runs `bun run test/lib/<scenario>` in a fresh work dir inside a loopback namespace
 * (`wrap` adds what the namespace needs around the command) and returns the JSON line it
 * printed last; throws with its output when it failed. The work dir is removed after.
 * @example const seen = await runBrowserScenario("browser-scenario.ts", "-u DATABASE_URL -u REDIS_URL");
 */
export async function runBrowserScenario(
  scenario: string,
  unset: string,
  wrap: (script: string) => string = (s) => s,
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "conf-browser-"));
  try {
    const r = await inLoopbackNamespace(
      wrap(`cd ${JSON.stringify(ROOT)}\nenv ${unset} bun run test/lib/${scenario} ${dir}`),
      140_000,
    );
    const last = r.stdout.trim().split("\n").pop() ?? "{}";
    const seen = JSON.parse(last) as Record<string, unknown>;
    if (r.code !== 0 || seen.error)
      throw new Error(`exit ${r.code}: ${String(seen.error)}\n${String(seen.service)}\n${r.stderr.slice(-2000)}`);
    return seen;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Expects that the browser heard the phone (its inbound packets and energy rose) and the
 * phone heard the browser's tone (600 Hz) and not its own (1000 Hz).
 */
export function expectHeardEachOther(seen: Record<string, unknown>): void {
  const energy = seen.energy as { before: { e: number; packets: number }; after: { e: number; packets: number } };
  expect(energy.after.packets).toBeGreaterThan(energy.before.packets + 100);
  expect(energy.after.e).toBeGreaterThan(energy.before.e + 0.05);
  const heard = seen.phoneHeard as Record<string, number>;
  expect(heard.seconds).toBeGreaterThan(1.5);
  expect(heard["600"]).toBeGreaterThan(-40);
  expect(heard["1000"]).toBeLessThan(-55);
}
