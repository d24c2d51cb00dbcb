/**
 * CPU use of another process (and its descendants) from /proc, as % of one core.
 * Linux only; elsewhere the sampler reports nothing rather than a wrong figure.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
export const CLK_TCK = 100;

/** What the sampler reads of a process: utime + stime in clock ticks, parent pid, command name. */
export interface ProcStat {
  ticks: number;
  ppid: number;
  comm: string;
}

/** utime + stime of a process in clock ticks, and its parent pid; null if gone. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  return parseProcStat(text);
}

/** Parse a /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { ticks: utime + stime, ppid, comm: text.slice(open + 1, close) };
}

/**
 * Children of `pid` from /proc/<pid>/task/<tid>/children (every thread's: a child belongs
 * to the thread that forked it), or null when the kernel has no such files
 * (CONFIG_PROC_CHILDREN off, as on some VMs) or the process is gone.
 */
export function childrenFromTasks(pid: number): number[] | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8");
    } catch {
      return null;
    }
    for (const c of text.split(" ")) if (c.trim() !== "") out.push(Number(c));
  }
  return out;
}

/** Parent pid -> child pids, from the stat file of every process in /proc. */
export function childrenByScan(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return children;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const st = readProcStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  return children;
}

/** Whether this kernel has /proc/<pid>/task/<tid>/children; probed once. */
let taskChildren: boolean | null = null;

/**
 * The process and all its live descendants (e.g. a service and the mixer workers it
 * spawned). Walks the children files when the kernel has them (a few small reads), else
 * one scan of every /proc/<pid>/stat.
 *
 * @example processTree(service.pid) // [service, worker1, worker2, ...]
 */
export function processTree(root: number, method: "auto" | "scan" = "auto"): number[] {
  if (method !== "scan" && taskChildren !== false) {
    const out: number[] = [];
    const stack = [root];
    let ok = true;
    while (stack.length) {
      const p = stack.pop()!;
      const kids = childrenFromTasks(p);
      if (kids === null) {
        // A process that exited between two reads has no task directory: only the root's
        // missing children file says the kernel lacks the feature.
        if (p === root && existsSync(`/proc/${p}`)) {
          ok = false;
          break;
        }
        continue;
      }
      out.push(p);
      for (const c of kids) stack.push(c);
    }
    if (ok) {
      taskChildren = true;
      return out.length > 0 ? out : [root];
    }
    taskChildren = false;
  }
  const children = childrenByScan();
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** Command line of a process, or "". */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** Short name of a command line for a report: the script it runs, else the program. */
export function shortCommand(line: string): string {
  const args = line.split(" ").filter((a) => a.length > 0);
  const script = args.find((a) => /\.(ts|js|mjs|cjs)$/.test(a));
  if (script) return /(?:^|\/)((?:apps|packages|scripts)\/.+)$/.exec(script)?.[1] ?? script.split("/").pop()!;
  return (args[0] ?? "").split("/").pop() ?? "";
}

/** One process's share of a sampled window. */
export interface ProcessCpu {
  pid: number;
  /** Command name from /proc/<pid>/stat (at most 15 characters). */
  comm: string;
  /** What it runs, shortened (e.g. `apps/mixer/src/main.ts`). */
  cmd: string;
  /** Average over the window, % of one core. */
  pct: number;
}

export interface CpuSummary {
  /** Average over the window, % of one core (may exceed 100 with several threads busy). */
  avgPct: number;
  /** Highest one-interval figure. */
  maxPct: number;
  samples: number;
  pids: number[];
  /** Each process seen, busiest first (those that exited keep what they used). */
  processes: ProcessCpu[];
}

/** Where the sampler reads from; tests replace it. */
export interface CpuSource {
  read: (pid: number) => ProcStat | null;
  cmdline: (pid: number) => string;
  /** Monotonic ms. */
  now: () => number;
}

const procSource: CpuSource = { read: readProcStat, cmdline, now: () => performance.now() };

/** Ticks of one process: at the start of the window (0 if born in it), the latest, and its names. */
interface Tracked {
  first: number;
  last: number;
  comm: string;
  cmd: string;
}

/**
 * Samples CPU ticks of a set of pids every `intervalMs`. The set is asked for again at
 * every sample, so processes spawned during the window (mixer workers) are counted from
 * birth and those that exit keep what they used.
 *
 * @example const s = new CpuSampler(() => processTree(pid)); s.start(); ...; s.stop().processes
 */
export class CpuSampler {
  private readonly pids: () => number[];
  private readonly intervalMs: number;
  private readonly src: CpuSource;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly tracked = new Map<number, Tracked>();
  private startAt = 0;
  private lastAt = 0;
  private lastTotal = 0;
  private maxPct = 0;
  private samples = 0;
  private starting = false;

  constructor(pids: () => number[], intervalMs = 1000, source: CpuSource = procSource) {
    this.pids = pids;
    this.intervalMs = intervalMs;
    this.src = source;
  }

  /** Ticks of all tracked pids; pids that exit keep their last value. */
  private total(): number {
    for (const pid of this.pids()) {
      const st = this.src.read(pid);
      if (!st) continue;
      const t = this.tracked.get(pid);
      if (t) {
        t.last = st.ticks;
        continue;
      }
      // Present at the start: only what it uses from now counts. Born later: all of it.
      this.tracked.set(pid, {
        first: this.starting ? st.ticks : 0,
        last: st.ticks,
        comm: st.comm,
        cmd: shortCommand(this.src.cmdline(pid)),
      });
    }
    let sum = 0;
    for (const t of this.tracked.values()) sum += t.last - t.first;
    return sum;
  }

  start(): void {
    this.tracked.clear();
    this.maxPct = 0;
    this.samples = 0;
    this.starting = true;
    // Records each present process's ticks as its baseline, so the window's total starts at 0.
    this.total();
    this.starting = false;
    this.startAt = this.lastAt = this.src.now();
    this.lastTotal = 0;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    const now = this.src.now();
    const total = this.total();
    const pct = ((total - this.lastTotal) / CLK_TCK / ((now - this.lastAt) / 1000)) * 100;
    if (pct > this.maxPct) this.maxPct = pct;
    this.samples++;
    this.lastTotal = total;
    this.lastAt = now;
  }

  stop(): CpuSummary {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const now = this.src.now();
    const total = this.total();
    const secs = (now - this.startAt) / 1000;
    const pct = (ticks: number) => (secs > 0 ? (ticks / CLK_TCK / secs) * 100 : 0);
    const processes = [...this.tracked]
      .map(([pid, t]) => ({ pid, comm: t.comm, cmd: t.cmd, pct: pct(t.last - t.first) }))
      .sort((a, b) => b.pct - a.pct);
    return {
      avgPct: pct(total),
      maxPct: this.maxPct,
      samples: this.samples,
      pids: [...this.tracked.keys()],
      processes,
    };
  }
}

/** Busy clock ticks of the whole machine (all CPUs) from /proc/stat, or null. */
export function readSystemBusy(): number | null {
  let text: string;
  try {
    text = readFileSync("/proc/stat", "utf8");
  } catch {
    return null;
  }
  const line = text.slice(0, text.indexOf("\n"));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 5 || f.some((x) => !Number.isFinite(x))) return null;
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - (f[3] ?? 0) - (f[4] ?? 0);
}

/**
 * CPU used on the machine by everything except `own` pids over a window, in % of one core:
 * other sessions' work sharing the cores makes timing figures noisier, so the bench says
 * how much there was.
 */
export class ForeignLoad {
  private busy0 = 0;
  private own0 = 0;
  private t0 = 0;

  constructor(private readonly own: () => number[]) {}

  private ownTicks(): number {
    let sum = 0;
    for (const pid of this.own()) sum += readProcStat(pid)?.ticks ?? 0;
    return sum;
  }

  start(): void {
    this.busy0 = readSystemBusy() ?? 0;
    this.own0 = this.ownTicks();
    this.t0 = performance.now();
  }

  /** % of one core used by other processes since start(). */
  stop(): number | null {
    const busy = readSystemBusy();
    if (busy === null) return null;
    const secs = (performance.now() - this.t0) / 1000;
    const other = busy - this.busy0 - (this.ownTicks() - this.own0);
    return secs > 0 ? Math.max(0, (other / CLK_TCK / secs) * 100) : null;
  }
}
