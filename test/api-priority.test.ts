/**
 * `bun run start` runs the API's process below the mixer's: at API_NICE (default 10), or
 * with API_SCHED=idle under Linux's SCHED_IDLE, which runs it only when the core has
 * nothing else to do. Read back from /proc, as the kernel sees the processes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Service, startService } from "./lib/service.ts";

/** SCHED_IDLE in /proc/<pid>/stat's policy field. */
const SCHED_IDLE = 5;
const SCHED_OTHER = 0;

/** nice and scheduling policy of a process, from /proc/<pid>/stat (fields 19 and 41). */
function schedOf(pid: number): { nice: number; policy: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count fields from after its ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
}

/** The child processes of `pid`. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

let svc: Service | null = null;
afterEach(async () => {
  await svc?.stop();
  svc = null;
});

describe.skipIf(!existsSync("/proc/self/stat") || !existsSync("/usr/bin/chrt"))("the API's process priority", () => {
  test("default: the API's process runs at nice 10, the mixer's at 0", async () => {
    svc = await startService({ rtpPortMin: 36_000, rtpPortMax: 36_099, embedded: true });
    const [api] = childrenOf(svc.pid);
    expect(api).toBeDefined();
    expect(schedOf(svc.pid)).toEqual({ nice: 0, policy: SCHED_OTHER });
    expect(schedOf(api as number)).toEqual({ nice: 10, policy: SCHED_OTHER });
  }, 90_000);

  test("API_SCHED=idle: the API's process runs under SCHED_IDLE, and still answers", async () => {
    svc = await startService({ rtpPortMin: 36_100, rtpPortMax: 36_199, embedded: true, env: { API_SCHED: "idle" } });
    const [api] = childrenOf(svc.pid);
    expect(schedOf(api as number).policy).toBe(SCHED_IDLE);
    expect(schedOf(svc.pid).policy).toBe(SCHED_OTHER);
    expect((await fetch(`${svc.api}/conference/v2/openapi.json`)).status).toBe(200);
  }, 90_000);

  test("API_SCHED=idle without chrt on PATH: the service still starts, the API under nice", async () => {
    // A PATH with bun and nice alone: what a system without util-linux's chrt offers.
    const bin = mkdtempSync(join(tmpdir(), "no-chrt-"));
    symlinkSync(process.execPath, join(bin, "bun"));
    symlinkSync(Bun.which("nice") as string, join(bin, "nice"));
    try {
      svc = await startService({
        rtpPortMin: 36_200,
        rtpPortMax: 36_299,
        embedded: true,
        env: { API_SCHED: "idle", PATH: bin },
      });
      const [api] = childrenOf(svc.pid);
      expect(schedOf(api as number)).toEqual({ nice: 10, policy: SCHED_OTHER });
      expect((await fetch(`${svc.api}/conference/v2/openapi.json`)).status).toBe(200);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 90_000);
});
