/**
 * Loss towards the mixer: each mixer node logs, when it stops, what its callers' RTP
 * sequence numbers say they sent and what arrived ("rx totals: R packets of E expected,
 * L lost (P%)"). The bench sums the lines of every node in the service's log. JSON
 * records (@conf/log) are read as `module[ worker]: msg`, the lines they replaced.
 */
import { textLines } from "@conf/log";

export interface MixerRx {
  nodes: number;
  received: number;
  expected: number;
  lost: number;
}

const LINE = /rx totals: (\d+) packets of (\d+) expected, (\d+) lost/;

/** The last totals line of each node (a node's log prefix tells nodes apart), summed. */
export function parseMixerRx(log: string): MixerRx | null {
  const last = new Map<string, RegExpMatchArray>();
  for (const line of textLines(log).split("\n")) {
    const m = line.match(LINE);
    if (!m) continue;
    last.set(line.slice(0, m.index).replace(/ticks .*/, ""), m);
  }
  if (last.size === 0) return null;
  const sum: MixerRx = { nodes: last.size, received: 0, expected: 0, lost: 0 };
  for (const m of last.values()) {
    sum.received += Number(m[1]);
    sum.expected += Number(m[2]);
    sum.lost += Number(m[3]);
  }
  return sum;
}

export function describeMixerRx(rx: MixerRx | null): string {
  if (!rx) return "towards the mixer: no totals in the service log (a mixer that logs `rx totals` when it stops is needed)";
  const pct = rx.expected > 0 ? (100 * rx.lost) / rx.expected : 0;
  return `towards the mixer (whole run, ${rx.nodes} node${rx.nodes === 1 ? "" : "s"}): ${rx.received} RTP packets received of ${rx.expected} the callers' sequence numbers account for, ${rx.lost} lost (${pct.toFixed(3)}%)`;
}

/**
 * The mixer's own clock: with MIXER_STATS_SECONDS each node logs, every that many
 * seconds, how late its 20 ms ticks started ("ticks N: late p50/p99/p99.9/max a/b/c/d ms").
 * The worst interval of a window is the figure to compare: a tick held up by anything
 * shows there, whatever the callers' own scheduling adds.
 */
export interface MixerTicks {
  /** Stats lines with at least one tick. */
  lines: number;
  /** Nodes that logged them (told apart by their log prefix). */
  nodes: number;
  ticks: number;
  /** Over the lines: the worst p99, p99.9 and max, and the median line's p99.9 (ms). */
  worstP99: number;
  worstP999: number;
  worstMax: number;
  medianP999: number;
  /** Every line's p99.9, ascending (ms): windows of one kind are pooled from these. */
  p999s: number[];
}

const TICKS = /ticks (\d+): late p50\/p99\/p99\.9\/max ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/;

/** The tick lines of a piece of the service log, or null when it has none (stats off). */
export function parseMixerTicks(log: string): MixerTicks | null {
  const nodes = new Set<string>();
  const p999: number[] = [];
  let ticks = 0;
  let worstP99 = 0;
  let worstMax = 0;
  for (const line of textLines(log).split("\n")) {
    const m = line.match(TICKS);
    if (!m || Number(m[1]) === 0) continue;
    nodes.add(line.slice(0, m.index));
    ticks += Number(m[1]);
    worstP99 = Math.max(worstP99, Number(m[3]));
    p999.push(Number(m[4]));
    worstMax = Math.max(worstMax, Number(m[5]));
  }
  if (p999.length === 0) return null;
  p999.sort((a, b) => a - b);
  return {
    lines: p999.length,
    nodes: nodes.size,
    ticks,
    worstP99,
    worstP999: p999[p999.length - 1]!,
    worstMax,
    medianP999: p999[Math.floor((p999.length - 1) / 2)]!,
    p999s: p999,
  };
}

/**
 * Intervals' p99.9 lateness of quiet windows against flooded ones, pooled: a median and a
 * worst that differ only when the flood moves the clock, whatever single windows did.
 * Null when either pool is empty.
 */
export function describeTickPools(quiet: number[], flooded: number[]): string | null {
  if (quiet.length === 0 || flooded.length === 0) return null;
  const describe = (label: string, values: number[]) => {
    const xs = [...values].sort((a, b) => a - b);
    const at = (q: number) => xs[Math.floor(q * (xs.length - 1))]!;
    const over = (ms: number) => xs.filter((x) => x > ms).length;
    return `${label} (${xs.length} intervals) median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, worst ${at(1).toFixed(1)} ms, ${over(5)} over 5 ms, ${over(20)} over 20 ms`;
  };
  return `${describe("without the flood", quiet)}; ${describe("under the flood", flooded)}`;
}
