import { afterEach, describe, expect, test } from "bun:test";
import { childrenFromTasks, CpuSampler, processTree, readProcStat, shortCommand, type ProcStat } from "./cpu.ts";

const procs: Bun.Subprocess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
});

/** Kill our own test processes by pid (never by name). */
function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Wait until `pid` has `n` descendants (sh forks its background jobs asynchronously). */
async function descendants(pid: number, n: number): Promise<number[]> {
  const end = performance.now() + 2000;
  for (;;) {
    const tree = processTree(pid, "scan");
    if (tree.length >= n + 1 || performance.now() > end) return tree;
    await Bun.sleep(10);
  }
}

describe.skipIf(process.platform !== "linux")("process tree from /proc", () => {
  test("a shell and its two background sleeps", async () => {
    const sh = Bun.spawn(["sh", "-c", "sleep 5 & sleep 5 & wait"], { stdio: ["ignore", "ignore", "ignore"] });
    procs.push(sh);
    const tree = await descendants(sh.pid, 2);
    expect(tree[0]).toBe(sh.pid);
    expect(tree).toHaveLength(3);
    expect(tree.slice(1).map((p) => readProcStat(p)?.comm)).toEqual(["sleep", "sleep"]);
    expect(tree.slice(1).every((p) => readProcStat(p)?.ppid === sh.pid)).toBe(true);
    // The default walk (children files where the kernel has them) finds the same tree.
    expect(processTree(sh.pid).sort()).toEqual([...tree].sort());
    const viaTasks = childrenFromTasks(sh.pid);
    if (viaTasks !== null) expect(viaTasks.sort()).toEqual(tree.slice(1).sort());
    // Grandchildren too: this process -> sh -> sleeps.
    expect(processTree(process.pid)).toEqual(expect.arrayContaining(tree));
    killAll(tree.slice(1));
  });

  test("a gone process is a tree of itself; the sampler keeps an exited child's time", async () => {
    const sh = Bun.spawn(["sh", "-c", "sleep 5 & sleep 5 & wait"], { stdio: ["ignore", "ignore", "ignore"] });
    procs.push(sh);
    await descendants(sh.pid, 2);
    const s = new CpuSampler(() => processTree(sh.pid), 20);
    s.start();
    await Bun.sleep(60);
    sh.kill("SIGKILL");
    await sh.exited;
    const sum = s.stop();
    expect(sum.processes.map((p) => p.comm).sort()).toEqual(["sh", "sleep", "sleep"]);
    expect(sum.processes.every((p) => p.pct >= 0 && p.pct < 50)).toBe(true);
    expect(processTree(sh.pid)).toEqual([sh.pid]);
    // The orphaned sleeps were re-parented: kill them by pid, not by name.
    killAll(sum.pids.filter((p) => p !== sh.pid));
  });
});

describe("CpuSampler", () => {
  test("total and per-process shares over the window, counting a process born in it from zero", () => {
    const ticks = new Map<number, number>([
      [10, 1000],
      [11, 500],
    ]);
    let now = 0;
    const s = new CpuSampler(() => [...ticks.keys()], 1_000_000, {
      read: (pid): ProcStat | null =>
        ticks.has(pid) ? { ticks: ticks.get(pid)!, ppid: 1, comm: pid === 10 ? "bun" : "bun" } : null,
      cmdline: (pid) => (pid === 10 ? "bun run scripts/start.ts" : "/usr/bin/bun /work/main/apps/mixer/src/main.ts --worker 1"),
      now: () => now,
    });
    s.start();
    now = 2000;
    ticks.set(10, 1000 + 60); // 0.6 s in 2 s: 30 %
    ticks.set(11, 500 + 100); // 1.0 s: 50 %
    ticks.set(12, 20); // born in the window: 0.2 s, 10 %
    const sum = s.stop();
    expect(sum.avgPct).toBeCloseTo(90, 6);
    expect(sum.processes).toEqual([
      { pid: 11, comm: "bun", cmd: "apps/mixer/src/main.ts", pct: 50 },
      { pid: 10, comm: "bun", cmd: "scripts/start.ts", pct: 30 },
      { pid: 12, comm: "bun", cmd: "apps/mixer/src/main.ts", pct: 10 },
    ]);
    expect(sum.pids.sort()).toEqual([10, 11, 12]);
  });

  test("shortCommand names the script, else the program", () => {
    expect(shortCommand("bun run scripts/start.ts")).toBe("scripts/start.ts");
    expect(shortCommand("/root/.bun/bin/bun /work/main/apps/mixer/src/main.ts")).toBe("apps/mixer/src/main.ts");
    expect(shortCommand("node /tmp/x/server.js")).toBe("server.js");
    expect(shortCommand("/usr/bin/redis-server *:6379")).toBe("redis-server");
    expect(shortCommand("")).toBe("");
  });
});
