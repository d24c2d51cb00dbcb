/**
 * CPU use of another process (and its descendants) from /proc, as % of one core.
 * Linux only; elsewhere the sampler reports nothing rather than a wrong figure.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
export const CLK_TCK = 100;

/** utime + stime of a process in clock ticks, and its parent pid; null if gone. */
export function readProcStat(pid: number): { ticks: number; ppid: number; comm: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  return parseProcStat(text);
}

/** Parse a /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): { ticks: number; ppid: number; comm: string } | null {
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

/** The process and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [root];
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

export interface CpuSummary {
  /** Average over the window, % of one core (may exceed 100 with several threads busy). */
  avgPct: number;
  /** Highest one-interval figure. */
  maxPct: number;
  samples: number;
  pids: number[];
}

/** Samples CPU ticks of a set of pids every `intervalMs`. */
export class CpuSampler {
  private readonly pids: () => number[];
  private readonly intervalMs: number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private last = new Map<number, number>();
  private startTicks = 0;
  private startAt = 0;
  private lastAt = 0;
  private lastTotal = 0;
  private maxPct = 0;
  private samples = 0;
  private seen = new Set<number>();

  constructor(pids: () => number[], intervalMs = 1000) {
    this.pids = pids;
    this.intervalMs = intervalMs;
  }

  /** Ticks of all tracked pids; pids that exit keep their last value. */
  private total(): number {
    for (const pid of this.pids()) {
      const st = readProcStat(pid);
      if (st) {
        this.last.set(pid, st.ticks);
        this.seen.add(pid);
      }
    }
    let sum = 0;
    for (const t of this.last.values()) sum += t;
    return sum;
  }

  start(): void {
    this.last.clear();
    this.seen.clear();
    this.maxPct = 0;
    this.samples = 0;
    this.startTicks = this.total();
    this.startAt = this.lastAt = performance.now();
    this.lastTotal = this.startTicks;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    const now = performance.now();
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
    const now = performance.now();
    const total = this.total();
    const secs = (now - this.startAt) / 1000;
    return {
      avgPct: secs > 0 ? ((total - this.startTicks) / CLK_TCK / secs) * 100 : 0,
      maxPct: this.maxPct,
      samples: this.samples,
      pids: [...this.seen],
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
