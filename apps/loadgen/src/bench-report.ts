/** The bench's results: one table of the media and setup rows, their detail lines, and the API table. */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { API_LIVE_CALLS, type ApiRow } from "./bench-api.ts";
import type { SetupRow } from "./bench-call-setup.ts";
import { calibrate, opts, pinned } from "./bench-cli.ts";
import type { FloodFigures } from "./bench-flood.ts";
import type { MediaRow } from "./bench-media.ts";
import type { Target } from "./bench-target.ts";
import type { CpuSummary } from "./cpu.ts";
import { type HttpLoadResult, wrkPath } from "./http-load.ts";
import { describeTickPools, type MixerTicks } from "./mixer-rx.ts";
import { fmt, median, table } from "./report.ts";

export function machine(): string {
  let model = "unknown CPU";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    model = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  return `${cpus().length} CPUs (${model}), Bun ${Bun.version}, ${process.platform}`;
}

/** The per-process split of a service with several processes (front + mixer workers), or null. */
function processLine(label: string, cpu: CpuSummary): string | null {
  if (cpu.processes.length < 2) return null;
  const parts = cpu.processes.map((p) => `${p.pid} ${p.comm}${p.cmd ? ` (${p.cmd})` : ""} ${fmt(p.pct)}%`);
  return `${label}: service CPU by process, % of one core (sum ${fmt(cpu.avgPct)}%): ${parts.join(", ")}`;
}

const TICKS_HEADER = "mixer tick late p99.9/max ms (worst interval)";
const FLOOD_HEADER = "API flood: requests (statuses) p50/p99 ms";
/** Columns shown only when a row has something in them (the stats lines, a flood). */
const OPTIONAL_COLUMNS = new Set([TICKS_HEADER, FLOOD_HEADER]);

function dropEmptyColumns(headers: string[], rows: string[][], optional: Set<string>): [string[], string[][]] {
  const keep = headers.map((h, i) => !optional.has(h) || rows.some((r) => (r[i] ?? "") !== ""));
  return [headers.filter((_, i) => keep[i]), rows.map((r) => r.filter((_, i) => keep[i]))];
}

function ticksCell(t: MixerTicks | null): string {
  if (opts.statsSeconds <= 0 && !t) return "";
  return t ? `${fmt(t.worstP999)}/${fmt(t.worstMax)}` : "-";
}

function statusesText(st: Record<string, number>): string {
  return Object.entries(st)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

/** p50/p99 of the answered requests, "-" when none was answered (all still waiting at the end). */
function answeredLatency(r: HttpLoadResult, withMax = false): string {
  if (r.requests - (r.unfinished ?? 0) <= 0) return withMax ? "-/-/-" : "-/-";
  return `${fmt(r.p50Ms, 1)}/${fmt(r.p99Ms, 1)}${withMax ? `/${fmt(r.maxMs, 1)}` : ""}`;
}

function floodCell(f: FloodFigures | null): string {
  const r = f?.result;
  if (!r) return "failed";
  return `${r.requests} (${statusesText(r.statuses)}) ${answeredLatency(r)}`;
}

/** The detail line of a flood window: what was sent, how it went, and what the mixer's clock did. */
function floodLine(r: MediaRow): string | null {
  const f = r.flood;
  if (f === undefined) return null;
  if (!f) return `${r.label}: the API flood did not run`;
  const res = f.result;
  const renamed = f.renames.filter((s) => s >= 200 && s < 300).length;
  return (
    `${r.label}: renamed ${renamed} of ${f.renames.length} calls to 255 "a" (PATCH statuses ${f.renames.join(", ") || "none"}); ` +
    `flood of ${f.filters.length} filter shapes (each request unique) from a second process${f.cpus !== null ? ` on CPU ${f.cpus} under SCHED_IDLE (nice 10 without chrt)` : ""}, ${f.concurrency} at a time: ` +
    (res
      ? `${res.requests} requests in ${fmt(res.durationS, 1)} s (${fmt(res.rps, 1)}/s; ${statusesText(res.statuses)}), answered ones p50/p99/max ${answeredLatency(res, true)} ms` +
        `${res.unfinished ? `, ${res.unfinished} unanswered at the end (the oldest waited ${fmt(res.unfinishedMaxMs, 0)} ms)` : ""}`
      : "no figures") +
    `${f.error ? `; ${f.error}` : ""}`
  );
}

/** The mixer's CPU as a multiple of the C echo's, over the same callers (median rows when several runs). */
function echoComparison(mixer: MediaRow[], echo: MediaRow[]): string | null {
  if (echo.length === 0) return null;
  const echoCpu = median(echo.map((r) => r.cpu.avgPct));
  const head = `C echo reference: CPU of the rtp-echo process alone (${opts.echoSockets} sockets, recvmmsg/sendmmsg, no mixing), the callers placed as for the mixer`;
  if (mixer.length === 0 || !(echoCpu > 0)) return `${head}: ${fmt(echoCpu)}% of a core`;
  const mixerCpu = median(mixer.map((r) => r.cpu.avgPct));
  return `${head}: ${fmt(echoCpu)}% of a core; the service ${fmt(mixerCpu)}%, ${fmt(mixerCpu / echoCpu, 2)} times the echo's`;
}

/**
 * The flood's effect on the mixer's clock, every stats interval of the quiet windows
 * pooled against every interval of the flooded ones (over all runs and cycles).
 */
function floodClockComparison(rows: MediaRow[]): string | null {
  const p999s = (flooded: boolean) =>
    rows.filter((r) => (r.flood !== undefined) === flooded).flatMap((r) => r.mixerTicks?.p999s ?? []);
  const text = describeTickPools(p999s(false), p999s(true));
  return text && `mixer tick lateness p99.9 per ${opts.statsSeconds} s interval, pooled: ${text}`;
}

function ticksLine(r: MediaRow): string | null {
  const t = r.mixerTicks;
  if (!t) return opts.statsSeconds > 0 ? `${r.label}: no mixer tick lines in the service log during the window` : null;
  return `${r.label}: mixer's own clock over ${t.lines} stats intervals of ${opts.statsSeconds} s (${t.ticks} ticks, ${t.nodes} node${t.nodes === 1 ? "" : "s"}): tick lateness worst p99 ${fmt(t.worstP99)} ms, p99.9 worst ${fmt(t.worstP999)} ms (median interval ${fmt(t.medianP999)} ms), max ${fmt(t.worstMax)} ms`;
}

/** A row of the results table for call setup alone: no talkers, and the nine media columns empty. */
function setupCells(
  label: string,
  calls: string,
  cpu: string,
  rate: string,
  to200: string,
  toJoin: string,
  codeToJoin: string,
  failures: string,
): string[] {
  return [label, calls, "0", cpu, "", "", "", "", "", "", "", "", "", rate, to200, toJoin, codeToJoin, failures];
}

function failuresText(f: Record<string, number>): string {
  const parts = Object.entries(f).map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(", ") : "0";
}

/** Median per API target over runs (run 0 marks a median row); none for a single run. */
function apiMedians(rows: ApiRow[]): ApiRow[] {
  if (opts.runs < 2) return [];
  const labels = [...new Set(rows.map((r) => r.label))];
  const med = (xs: (HttpLoadResult | null)[], f: (x: HttpLoadResult) => number) =>
    median(xs.filter((x) => x !== null).map((x) => f(x!)));
  const one = (xs: (HttpLoadResult | null)[]): HttpLoadResult | null => {
    const first = xs.find((x) => x !== null);
    if (!first) return null;
    return {
      ...first,
      rps: med(xs, (x) => x.rps),
      p50Ms: med(xs, (x) => x.p50Ms),
      p99Ms: med(xs, (x) => x.p99Ms),
      maxMs: med(xs, (x) => x.maxMs),
      errors: xs.reduce((a, x) => a + (x?.errors ?? 0), 0),
    };
  };
  return labels.map((label) => {
    const of = rows.filter((r) => r.label === label);
    return { label, run: 0, closed: one(of.map((r) => r.closed)), open: one(of.map((r) => r.open)) };
  });
}

export function printResults(t: Target, media: MediaRow[], setup: SetupRow[], apiRows: ApiRow[]): string {
  const out: string[] = [];
  out.push(
    `machine: ${machine()}; service backing: ${calibrate ? "reference UAS (calibration)" : t.backing}; ${opts.external ? `service started elsewhere${pinned ? `, generator pinned to CPU ${opts.genCpus}` : ""}` : `service ${pinned ? `pinned to CPU ${opts.serviceCpus}, generator to CPU ${opts.genCpus}` : "not pinned"}`}; CPU measured: ${t.mixerDesc}`,
  );
  const headers = [
    "scenario",
    "attendees",
    "talkers",
    "mixer CPU % core (avg/max)",
    "loss rx %",
    "rx pps/caller",
    "inter-arrival dev p50/p99/p99.9/max ms",
    "RFC3550 jitter mean ms",
    "late ticks/caller (>25ms)",
    TICKS_HEADER,
    FLOOD_HEADER,
    "seq/ts/ssrc errs",
    "gen CPU % / lag p99 ms",
    "setup calls/s",
    "INVITE->200 p50/p99 ms",
    "INVITE->joined p50/p99 ms",
    "# pressed->joined p50/p99 ms",
    "failures",
  ];
  const rows: string[][] = [];
  for (const r of media) {
    const m = r.media;
    // A flood window is a second window on the same calls: their setup is on the row before.
    const su = r.flood ? null : r.setup;
    rows.push([
      r.label,
      String(r.attendees),
      String(r.talkers),
      `${fmt(r.cpu.avgPct)}/${fmt(r.cpu.maxPct)}`,
      fmt(m.lossRxPct, 3),
      fmt(m.ppsPerStream, 1),
      `${fmt(m.devP50, 1)}/${fmt(m.devP99, 1)}/${fmt(m.devP999, 1)}/${fmt(m.devMax, 1)}`,
      fmt(m.jitterMean, 2),
      fmt(m.lateTicksPerStream, 2),
      ticksCell(r.mixerTicks),
      r.flood !== undefined ? floodCell(r.flood) : "",
      `${m.seqJumps}/${m.tsErrors}/${m.ssrcChanges}`,
      `${fmt(r.genCpu.avgPct, 0)}/${fmt(m.genLagP99, 1)}${r.genCpu.avgPct > 85 || m.genLagP99 > 5 || m.skippedTicks > 0 ? " (!)" : ""}`,
      su ? fmt(su.offeredRate, 0) : "",
      su ? `${fmt(su.inviteTo200P50, 1)}/${fmt(su.inviteTo200P99, 1)}` : "",
      su ? `${fmt(su.inviteToJoinP50, 0)}/${fmt(su.inviteToJoinP99, 0)}` : "",
      su ? `${fmt(su.codeToJoinP50, 1)}/${fmt(su.codeToJoinP99, 1)}` : "",
      su ? failuresText(su.failures) : "",
    ]);
  }
  // Medians per kind of window, so quiet and flooded runs are compared, never mixed.
  const mixerRows = media.filter((r) => !r.echo);
  const echoRows = media.filter((r) => r.echo);
  for (const group of [
    mixerRows.filter((r) => r.flood === undefined),
    mixerRows.filter((r) => r.flood !== undefined),
    echoRows,
  ]) {
    if (group.length < 2) continue;
    const med = (f: (r: MediaRow) => number, d = 1) => fmt(median(group.map(f)), d);
    const flooded = group[0]!.flood !== undefined;
    const quiet = !flooded && !group[0]!.echo && media.some((r) => r.flood !== undefined);
    const floods = group.map((r) => r.flood?.result).filter((x): x is HttpLoadResult => !!x);
    rows.push([
      `${group[0]!.echo ? "C echo reference" : "media"}${flooded ? ` + API flood c=${opts.apiFlood}` : quiet ? " (no flood)" : ""} median of ${group.length}`,
      String(group[0]!.attendees),
      String(group[0]!.talkers),
      `${med((r) => r.cpu.avgPct)}/${med((r) => r.cpu.maxPct)}`,
      med((r) => r.media.lossRxPct, 3),
      med((r) => r.media.ppsPerStream),
      `${med((r) => r.media.devP50)}/${med((r) => r.media.devP99)}/${med((r) => r.media.devP999)}/${med((r) => r.media.devMax)}`,
      med((r) => r.media.jitterMean, 2),
      med((r) => r.media.lateTicksPerStream, 2),
      group.some((r) => r.mixerTicks)
        ? `${med((r) => r.mixerTicks?.worstP999 ?? NaN)}/${med((r) => r.mixerTicks?.worstMax ?? NaN)}`
        : "",
      flooded
        ? `${fmt(median(floods.map((x) => x.requests)), 0)} (median) ${fmt(median(floods.map((x) => x.p50Ms)), 1)}/${fmt(median(floods.map((x) => x.p99Ms)), 1)}`
        : "",
      "",
      `${med((r) => r.genCpu.avgPct, 0)}/${med((r) => r.media.genLagP99)}`,
      flooded ? "" : med((r) => r.setup.offeredRate, 0),
      flooded ? "" : `${med((r) => r.setup.inviteTo200P50)}/${med((r) => r.setup.inviteTo200P99)}`,
      flooded ? "" : `${med((r) => r.setup.inviteToJoinP50 ?? NaN, 0)}/${med((r) => r.setup.inviteToJoinP99 ?? NaN, 0)}`,
      flooded ? "" : `${med((r) => r.setup.codeToJoinP50 ?? NaN, 1)}/${med((r) => r.setup.codeToJoinP99 ?? NaN, 1)}`,
      flooded ? "" : String(group.reduce((a, r) => a + r.setup.failed, 0)),
    ]);
  }
  for (const r of setup) {
    const s = r.setup;
    rows.push(
      setupCells(
        r.label,
        `${s.attempted} (${s.joined} joined)`,
        `${fmt(r.cpu.avgPct)}/${fmt(r.cpu.maxPct)}`,
        `${fmt(s.offeredRate, 0)} (joined ${fmt(s.joinedRate, 0)})`,
        `${fmt(s.inviteTo200P50, 1)}/${fmt(s.inviteTo200P99, 1)}`,
        `${fmt(s.inviteToJoinP50, 0)}/${fmt(s.inviteToJoinP99, 0)}`,
        `${fmt(s.codeToJoinP50, 1)}/${fmt(s.codeToJoinP99, 1)}`,
        failuresText(s.failures),
      ),
    );
  }
  if (setup.length > 1) {
    const med = (f: (r: SetupRow) => number | null, d = 1) => fmt(median(setup.map((r) => f(r) ?? NaN)), d);
    rows.push(
      setupCells(
        `call setup median of ${setup.length}`,
        `${setup[0]!.setup.attempted}`,
        `${med((r) => r.cpu.avgPct)}/${med((r) => r.cpu.maxPct)}`,
        `${med((r) => r.setup.offeredRate, 0)} (joined ${med((r) => r.setup.joinedRate, 0)})`,
        `${med((r) => r.setup.inviteTo200P50)}/${med((r) => r.setup.inviteTo200P99)}`,
        `${med((r) => r.setup.inviteToJoinP50, 0)}/${med((r) => r.setup.inviteToJoinP99, 0)}`,
        `${med((r) => r.setup.codeToJoinP50)}/${med((r) => r.setup.codeToJoinP99)}`,
        String(setup.reduce((a, r) => a + r.setup.failed, 0)),
      ),
    );
  }
  if (rows.length) out.push(table(...dropEmptyColumns(headers, rows, OPTIONAL_COLUMNS)));
  const echoLine = echoComparison(
    mixerRows.filter((r) => r.flood === undefined),
    echoRows,
  );
  if (echoLine) out.push(echoLine);
  const floodClock = floodClockComparison(mixerRows);
  if (floodClock) out.push(floodClock);
  if (media.some((r) => (r.foreignPct ?? 0) > 15)) {
    out.push(
      "(other processes used more than 15% of a core during a media window, see below: the machine was shared, timing figures are noisier than the service alone)",
    );
  }
  if (media.some((r) => r.genCpu.avgPct > 85 || r.media.genLagP99 > 5 || r.media.skippedTicks > 0)) {
    out.push(
      "(!) the generator itself was saturated or late (CPU > 85%, its tick lag p99 > 5 ms, or skipped ticks): timing figures of that row are bounded by the generator, not the service.",
    );
  }
  for (const r of media) {
    const v = Object.entries(r.media.voicedPct)
      .map(([k, x]) => `${k} ${fmt(x, 0)}%`)
      .join(", ");
    out.push(
      `${r.label}: other processes used ${fmt(r.foreignPct, 0)}% of a core during the window (load average ${r.loadavg}); ${r.media.streams} streams, rx ${r.media.packetsRx} pkts (${r.media.lostRx} lost, ${r.media.streamsWithLoss} streams with loss, worst ${fmt(r.media.worstStreamLossPct, 2)}%), tx ${fmt(r.media.txPps, 0)} pkt/s (${r.media.sendFailures} send failures), generator lag max ${fmt(r.media.genLagMax, 1)} ms, skipped ticks ${r.media.skippedTicks}; frames heard with voice energy: ${v}; API during: ${JSON.stringify(r.apiDuring)}, after hang-up: ${JSON.stringify(r.apiAfter)}${r.media.moves > 0 || r.media.reinvitesRefused > 0 ? `; calls moved by re-INVITE ${r.media.moves} (longest gap across a move ${fmt(r.media.moveGapMaxMs, 1)} ms, re-INVITEs refused ${r.media.reinvitesRefused}, 200s never ACKed ${r.media.reinviteAckTimeouts})` : ""}`,
    );
  }
  for (const r of media) for (const line of [ticksLine(r), floodLine(r)]) if (line) out.push(line);
  for (const r of media) {
    // The live store answers for the calls it holds: a flood that made them vanish from
    // the API (a lease not renewed in time, say) harmed the service even if the audio held.
    if (r.apiDuring && r.apiDuring.calls !== r.attendees) {
      out.push(
        `(!) ${r.label}: the API listed ${r.apiDuring.calls} calls and ${r.apiDuring.meetings} meetings right after the window, while ${r.attendees} callers were connected`,
      );
    } else if (!r.apiDuring && r.flood !== undefined)
      out.push(`(!) ${r.label}: the API did not answer the count of calls after the window`);
  }
  for (const r of setup)
    out.push(
      `${r.label}: API after hang-up: ${JSON.stringify(r.apiAfter)}; INVITE retransmissions ${r.setup.retransmissions}; join-poll errors ${r.pollErrors}`,
    );
  for (const r of [...media, ...setup]) {
    const line = processLine(r.label, r.cpu);
    if (line) out.push(line);
  }
  if (apiRows.length) {
    out.push("");
    out.push(
      table(
        [
          "API target",
          "closed loop tool",
          "req/s",
          "p50 ms",
          "p99 ms",
          "errors",
          `open loop ${opts.apiRate} req/s: achieved`,
          "p50 ms",
          "p99 ms",
          "errors",
        ],
        [...apiRows, ...apiMedians(apiRows)].map((r) => [
          r.run > 0 && opts.runs > 1 ? `${r.label} #${r.run}` : r.run === 0 ? `${r.label} (median of ${opts.runs})` : r.label,
          r.closed ? `${r.closed.tool} c=${opts.apiConcurrency}` : "-",
          fmt(r.closed?.rps, 0),
          fmt(r.closed?.p50Ms, 2),
          fmt(r.closed?.p99Ms, 2),
          String(r.closed?.errors ?? "-"),
          fmt(r.open?.rps, 0),
          fmt(r.open?.p50Ms, 2),
          fmt(r.open?.p99Ms, 2),
          String(r.open?.errors ?? "-"),
        ]),
      ),
    );
    for (const r of apiRows) {
      if (!r.page) continue;
      const name = `${r.label}${opts.runs > 1 ? ` #${r.run}` : ""}`;
      const dropped = `${r.droppedCalls ?? 0} of ${API_LIVE_CALLS} live calls hung up by the service`;
      if (r.page.samples === r.page.failed)
        out.push(`(!) ${name}: its page could not be sampled while measured (${r.page.failed} failed requests)`);
      else if (r.page.empty > 0) {
        out.push(
          `(!) ${name}: the page was empty in ${r.page.empty} of ${r.page.samples} samples while measured (items min ${r.page.min}, max ${r.page.max}; ${r.page.failed} samples failed; ${dropped}): its figures are partly those of an empty list.`,
        );
      } else if (r.droppedCalls)
        out.push(
          `(!) ${name}: ${dropped} during the scenario (the page was never empty: items min ${r.page.min}, max ${r.page.max})`,
        );
    }
    if (!wrkPath())
      out.push(
        "(wrk not installed: closed-loop figures from a Bun fetch client in a second process; `apt-get install wrk` for a lighter client)",
      );
  }
  return out.join("\n");
}
