/**
 * Merge per-generator reports into the figures the bench prints, and format the table.
 */
import type { CallRecord, GeneratorReport } from "./generator-types.ts";
import { Histogram } from "./rtp/stats.ts";

/** Figures of one media measurement window, all callers together. */
export interface MediaFigures {
  streams: number;
  packetsRx: number;
  expectedRx: number;
  lostRx: number;
  lossRxPct: number;
  streamsWithLoss: number;
  worstStreamLossPct: number;
  /** Receive rate per stream, packets/s (50 when every tick arrives). */
  ppsPerStream: number;
  /** |inter-arrival - 20 ms| distribution, ms. */
  devP50: number;
  devP99: number;
  devP999: number;
  devMax: number;
  /** RFC 3550 jitter: mean and p99 over streams, ms. */
  jitterMean: number;
  jitterP99: number;
  /** Inter-arrival gaps > late threshold, summed over streams, and that per stream (~ late mixer ticks). */
  lateGaps: number;
  lateTicksPerStream: number;
  seqJumps: number;
  tsErrors: number;
  ssrcChanges: number;
  duplicates: number;
  txPackets: number;
  txPps: number;
  sendFailures: number;
  /** Generator's own tick lateness (its noise floor), ms. */
  genLagP99: number;
  genLagMax: number;
  skippedTicks: number;
  voicedPct: Record<string, number | null>;
  windowS: number;
  /** Calls the service moved to another node by re-INVITE (whole run, not only the window). */
  moves: number;
  /** Longest gap in what a caller received across a move, ms (null: none measured). */
  moveGapMaxMs: number | null;
  /** re-INVITEs we refused, and 2xx answers to re-INVITEs never ACKed. */
  reinvitesRefused: number;
  reinviteAckTimeouts: number;
}

export function mergeMedia(reports: GeneratorReport[]): MediaFigures {
  const dev = new Histogram(0.1, 1000);
  const jit = new Histogram(0.01, 200);
  const lag = new Histogram(0.1, 1000);
  let streams = 0;
  let packets = 0;
  let expected = 0;
  let lost = 0;
  let withLoss = 0;
  let worst = 0;
  let late = 0;
  let seqJumps = 0;
  let tsErrors = 0;
  let ssrc = 0;
  let dups = 0;
  let tx = 0;
  let sendFailures = 0;
  let skipped = 0;
  let windowMs = 0;
  let moves = 0;
  let moveGap: number | null = null;
  let refused = 0;
  let ackTimeouts = 0;
  const energy: Record<string, { checked: number; voiced: number }> = {};
  for (const r of reports) {
    dev.merge(r.rx.deviation);
    jit.merge(r.rx.jitter);
    lag.merge(r.lag);
    streams += r.rx.streams;
    packets += r.rx.counters.packets;
    expected += r.rx.counters.expected;
    lost += r.rx.lost;
    withLoss += r.rx.streamsWithLoss;
    worst = Math.max(worst, r.rx.worstStreamLossPct);
    late += r.rx.counters.late;
    seqJumps += r.rx.counters.seqJumps;
    tsErrors += r.rx.counters.tsErrors;
    ssrc += r.rx.counters.ssrcChanges;
    dups += r.rx.counters.duplicates;
    tx += r.tx.packets;
    sendFailures += r.tx.sendFailures;
    skipped += r.skippedTicks;
    windowMs = Math.max(windowMs, r.windowMs);
    for (const c of r.calls) {
      moves += c.moves ?? 0;
      if (c.moveGapMs != null && (moveGap === null || c.moveGapMs > moveGap)) moveGap = c.moveGapMs;
    }
    refused += r.sip.reinvitesRefused ?? 0;
    ackTimeouts += r.sip.answerAckTimeouts ?? 0;
    for (const [role, e] of Object.entries(r.rx.energy)) {
      const acc = (energy[role] ??= { checked: 0, voiced: 0 });
      acc.checked += e.checked;
      acc.voiced += e.voiced;
    }
  }
  const secs = windowMs / 1000;
  const voicedPct: Record<string, number | null> = {};
  for (const [role, e] of Object.entries(energy)) voicedPct[role] = e.checked > 0 ? (100 * e.voiced) / e.checked : null;
  return {
    streams,
    packetsRx: packets,
    expectedRx: expected,
    lostRx: lost,
    lossRxPct: expected > 0 ? (100 * lost) / expected : 0,
    streamsWithLoss: withLoss,
    worstStreamLossPct: worst,
    ppsPerStream: streams > 0 && secs > 0 ? packets / streams / secs : 0,
    devP50: dev.quantile(0.5),
    devP99: dev.quantile(0.99),
    devP999: dev.quantile(0.999),
    devMax: dev.max,
    jitterMean: jit.count > 0 ? jit.sum / jit.count : 0,
    jitterP99: jit.quantile(0.99),
    lateGaps: late,
    lateTicksPerStream: streams > 0 ? late / streams : 0,
    seqJumps,
    tsErrors,
    ssrcChanges: ssrc,
    duplicates: dups,
    txPackets: tx,
    txPps: secs > 0 ? tx / secs : 0,
    sendFailures,
    genLagP99: lag.quantile(0.99),
    genLagMax: lag.max,
    skippedTicks: skipped,
    voicedPct,
    windowS: secs,
    moves,
    moveGapMaxMs: moveGap,
    reinvitesRefused: refused,
    reinviteAckTimeouts: ackTimeouts,
  };
}

/** Call-setup figures over a set of call records. */
export interface SetupFigures {
  attempted: number;
  answered: number;
  /** Calls seen joined in the API (meeting_sid set). */
  joined: number;
  failures: Record<string, number>;
  failed: number;
  inviteTo200P50: number;
  inviteTo200P99: number;
  /** From the press of the last key ('#': first packet of its event) to date_joined in the API. */
  codeToJoinP50: number | null;
  codeToJoinP99: number | null;
  /** INVITE sent to joined. */
  inviteToJoinP50: number | null;
  inviteToJoinP99: number | null;
  /** Achieved rate of INVITEs, calls/s. */
  offeredRate: number;
  /** Joined calls per second, from the first join to the last. */
  joinedRate: number | null;
  retransmissions: number;
  remoteByes: number;
  byeFailures: number;
}

/** Join times keyed by caller number, epoch ms. */
export type JoinTimes = Map<string, number>;

export function setupFigures(calls: CallRecord[], joins: JoinTimes | null): SetupFigures {
  const i2o = new Histogram(0.1, 40000);
  // Signed, exact: a service could admit before the last key's packet is sent.
  const c2j: number[] = [];
  const i2j: number[] = [];
  const failures: Record<string, number> = {};
  let answered = 0;
  let joined = 0;
  let retrans = 0;
  let remoteByes = 0;
  let byeFailures = 0;
  let firstInvite = Infinity;
  let lastInvite = -Infinity;
  let lastJoin = -Infinity;
  let firstJoin = Infinity;
  for (const c of calls) {
    retrans += c.retransmissions;
    if (c.inviteAt !== null) {
      firstInvite = Math.min(firstInvite, c.inviteAt);
      lastInvite = Math.max(lastInvite, c.inviteAt);
    }
    if (c.status >= 200 && c.status < 300 && c.answeredAt !== null) {
      answered++;
      if (c.inviteTo200Ms !== null) i2o.record(c.inviteTo200Ms);
    } else {
      const key = c.status > 0 ? String(c.status) : c.reason || "no answer";
      failures[key] = (failures[key] ?? 0) + 1;
      continue;
    }
    if (c.reason) {
      failures[c.reason] = (failures[c.reason] ?? 0) + 1;
    }
    // A BYE from the service before we hung up is a dropped call.
    if (c.remoteByeAt !== null && (c.hangupAt === null || c.remoteByeAt < c.hangupAt)) remoteByes++;
    if (c.byeStatus !== null && (c.byeStatus < 200 || c.byeStatus >= 300)) byeFailures++;
    if (joins) {
      const j = joins.get(c.fromUser);
      if (j !== undefined) {
        joined++;
        lastJoin = Math.max(lastJoin, j);
        firstJoin = Math.min(firstJoin, j);
        if (c.codeSentAt !== null) c2j.push(j - c.codeSentAt);
        if (c.inviteAt !== null) i2j.push(j - c.inviteAt);
      } else if (c.codeSentAt !== null || c.answeredAt !== null) {
        failures["not joined"] = (failures["not joined"] ?? 0) + 1;
      }
    }
  }
  if (remoteByes > 0) failures["dropped by service"] = remoteByes;
  if (byeFailures > 0) failures["BYE not answered 2xx"] = byeFailures;
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  const spanS = (lastInvite - firstInvite) / 1000;
  return {
    attempted: calls.length,
    answered,
    joined,
    failures,
    failed,
    inviteTo200P50: i2o.quantile(0.5),
    inviteTo200P99: i2o.quantile(0.99),
    codeToJoinP50: joins && c2j.length ? quantile(c2j, 0.5) : null,
    codeToJoinP99: joins && c2j.length ? quantile(c2j, 0.99) : null,
    inviteToJoinP50: joins && i2j.length ? quantile(i2j, 0.5) : null,
    inviteToJoinP99: joins && i2j.length ? quantile(i2j, 0.99) : null,
    offeredRate: spanS > 0 ? (calls.length - 1) / spanS : 0,
    joinedRate: joins && joined > 1 && lastJoin > firstJoin ? (joined - 1) / ((lastJoin - firstJoin) / 1000) : null,
    retransmissions: retrans,
    remoteByes,
    byeFailures,
  };
}

/** Render rows as a GitHub-flavoured Markdown table (readable in a terminal too). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** Number formatting helper: fixed decimals, "-" for null/NaN. */
export function fmt(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  return v.toFixed(digits);
}

/** Exact quantile (nearest rank) of a list of numbers. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Median of numbers (for repeated runs). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
