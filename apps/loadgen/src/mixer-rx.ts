/**
 * Loss towards the mixer: each mixer node logs, when it stops, what its callers' RTP
 * sequence numbers say they sent and what arrived ("rx totals: R packets of E expected,
 * L lost (P%)"). The bench sums the lines of every node in the service's log.
 */
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
  for (const line of log.split("\n")) {
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
