/**
 * The media scenario: fill the meeting(s), measure a window of what the callers hear (and
 * one under an API flood with --api-flood), hang up; and the same callers against the C echo.
 */
import { statSync } from "node:fs";
import { readFileSync } from "node:fs";
import type { ApiClient, Provisioned } from "./api-client.ts";
import { apiCounts, buildSpecs, joinWatcher, provision, sumCounts, waitApiEmpty } from "./bench-calls.ts";
import { defaultWorkers, log, opts } from "./bench-cli.ts";
import { type FloodFigures, runFlood } from "./bench-flood.ts";
import { buildEcho, genConfig, startEchoTarget, type Target } from "./bench-target.ts";
import { CpuSampler, type CpuSummary, ForeignLoad, processTree } from "./cpu.ts";
import { type MixerTicks, parseMixerTicks } from "./mixer-rx.ts";
import { LoadPool } from "./pool.ts";
import { type JoinTimes, type MediaFigures, mergeMedia, type SetupFigures, setupFigures } from "./report.ts";

export interface MediaRow {
  kind: "media";
  label: string;
  attendees: number;
  talkers: number;
  cpu: CpuSummary;
  /** This process (all generator threads). */
  genCpu: CpuSummary;
  /** CPU used by other processes on the machine during the window, % of one core. */
  foreignPct: number | null;
  loadavg: string;
  media: MediaFigures;
  setup: SetupFigures;
  apiDuring: { calls: number; attendees: number; meetings: number } | null;
  apiAfter: { calls: number; attendees: number; meetings: number } | null;
  /** The mixer's own tick lateness over the window (MIXER_STATS_SECONDS lines), or null. */
  mixerTicks: MixerTicks | null;
  /** The API flood run during this window (--api-flood), if any. */
  flood?: FloodFigures | null;
  /** A row of the C echo reference (the echo scenario), not of the service. */
  echo?: boolean;
}

/** The media scenario against the C echo: the same callers, no mixer. */
export async function echoScenario(run: number): Promise<MediaRow[]> {
  const built = buildEcho();
  if ("error" in built) {
    log(`echo scenario skipped: ${built.error}`);
    return [];
  }
  const t = await startEchoTarget(built.path);
  try {
    const rows = await mediaScenario(t, null, run, "C echo reference (rtp-echo.c)");
    return rows.map((r) => ({ ...r, echo: true }));
  } finally {
    await t.service?.stop();
  }
}

/**
 * The mixer's tick lines logged during a window. A line covers the MIXER_STATS_SECONDS
 * before it, so only lines logged from that long after the start count (when the window
 * is longer than one interval): the window's own ticks, none of the joins before it.
 */
function tickWindow(t: Target, durationS: number) {
  const path = t.service?.logPath;
  if (!path || opts.statsSeconds <= 0) return { stop: async (): Promise<MixerTicks | null> => null };
  const size = () => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  let from = size();
  const timer = opts.statsSeconds < durationS ? setTimeout(() => (from = size()), opts.statsSeconds * 1000) : null;
  return {
    async stop(): Promise<MixerTicks | null> {
      if (timer) clearTimeout(timer);
      const to = size();
      if (to <= from) return null;
      // Start at a line's beginning: a write may have been cut at `from`.
      let text = await Bun.file(path)
        .slice(Math.max(0, from - 1), to)
        .text();
      if (from > 0) text = text.startsWith("\n") ? text.slice(1) : text.slice(text.indexOf("\n") + 1);
      return parseMixerTicks(text);
    },
  };
}

type Window = Pick<MediaRow, "cpu" | "genCpu" | "foreignPct" | "loadavg" | "media" | "apiDuring" | "mixerTicks" | "flood"> & {
  reports: Awaited<ReturnType<LoadPool["reports"]>>;
};

/** One measured window on the callers already in their meetings, optionally under an API flood. */
async function mediaWindow(
  t: Target,
  api: ApiClient | null,
  pool: LoadPool,
  rooms: (Provisioned | null)[],
  flood: boolean,
): Promise<Window> {
  await pool.resetWindow();
  const cpu = new CpuSampler(t.mixerPids, 1000);
  const genCpu = new CpuSampler(() => [process.pid], 1000);
  const foreign = new ForeignLoad(() => [...t.servicePids(), ...processTree(process.pid)]);
  cpu.start();
  genCpu.start();
  foreign.start();
  const ticks = tickWindow(t, opts.durationS);
  const target = rooms[0];
  const floodRun = flood && api && target ? runFlood(t, api, target, opts.durationS) : null;
  log(`measuring ${opts.durationS} s${floodRun ? ` under an API flood (${opts.apiFlood} at a time)` : ""}`);
  await Bun.sleep(opts.durationS * 1000);
  const reports = await pool.reports();
  const cpuSum = cpu.stop();
  const genSum = genCpu.stop();
  const foreignPct = foreign.stop();
  const loadavg = readLoadavg();
  const mixerTicks = await ticks.stop();
  const floodFig = floodRun ? await floodRun : null;
  if (floodFig?.error) log(`api flood: ${floodFig.error}`);
  const apiDuring = sumCounts(await Promise.all(rooms.map((p) => apiCounts(api, p))));
  return {
    reports,
    cpu: cpuSum,
    genCpu: genSum,
    foreignPct,
    loadavg,
    media: mergeMedia(reports),
    apiDuring,
    mixerTicks,
    ...(floodRun ? { flood: floodFig } : {}),
  };
}

/**
 * Fill the meeting(s), measure a window, hang up. With --api-flood a second window on the
 * same callers runs under the flood, so the two rows differ by the flood alone.
 */
export async function mediaScenario(t: Target, api: ApiClient | null, run: number, name = "media"): Promise<MediaRow[]> {
  const perMeeting = opts.attendees;
  const meetings = Math.max(1, opts.meetings);
  const total = perMeeting * meetings;
  const rooms: (Provisioned | null)[] = [];
  for (let m = 0; m < meetings; m++) rooms.push(await provision(api, "bench-media"));
  const specs = rooms.flatMap((p) => buildSpecs(p, perMeeting, opts.talkers, opts.listeners, p?.phonenumber ?? "15550000000"));
  const workers = opts.workers !== undefined ? Number(opts.workers) : defaultWorkers();
  const pool = await LoadPool.create(workers, genConfig(t));
  const watchers = rooms.map((p) => joinWatcher(api, p, 500));
  log(`media run ${run}: placing ${total} calls at ${opts.joinRate}/s over ${pool.size} generator(s)`);
  try {
    await pool.place(specs, opts.joinRate);
    // Wait for the codes to be keyed and the joins to show in the API.
    const deadline = performance.now() + 20_000 + (opts.codeDelayMs + 1500);
    const joinedCount = () => watchers.reduce((a, w) => a + w.joins.size, 0);
    while (api && joinedCount() < total && performance.now() < deadline) await Bun.sleep(250);
    if (!api) await Bun.sleep(opts.codeDelayMs + 2000);
    await Promise.all(watchers.map((w) => w.stop()));
    const joins: JoinTimes = new Map(watchers.flatMap((w) => [...w.joins]));
    await Bun.sleep(2000);
    log(`${joinedCount()} of ${total} seen joined in the API`);
    const floods = opts.apiFlood > 0 && api ? Array.from({ length: opts.floodCycles }, () => [false, true]).flat() : [false];
    const windows: Window[] = [];
    for (const flood of floods) {
      windows.push(await mediaWindow(t, api, pool, rooms, flood));
      // Let what the flood left in the API's queue drain before the next window or the counts.
      if (flood) await Bun.sleep(1000);
    }
    log("hanging up");
    await pool.hangupAll(200);
    log("hung up");
    // Setup figures from the last report (every call's record is cumulative).
    const setup = setupFigures(
      windows[windows.length - 1]!.reports.flatMap((r) => r.calls),
      api ? joins : null,
    );
    const apiAfter = sumCounts(await Promise.all(rooms.map((p) => waitApiEmpty(api, p, 15_000))));
    const base = `${name}${meetings > 1 ? ` x${meetings} meetings` : ""}`;
    const cycle = (i: number) => (opts.floodCycles > 1 ? `.${Math.floor(i / 2) + 1}` : "");
    return windows.map(({ reports: _reports, ...w }, i) => ({
      kind: "media",
      label: w.flood
        ? `${base} + API flood c=${opts.apiFlood} #${run}${cycle(i)}`
        : `${base}${floods.length > 1 ? " (no flood)" : ""} #${run}${cycle(i)}`,
      attendees: total,
      talkers: opts.talkers * meetings,
      ...w,
      setup,
      apiAfter,
    }));
  } finally {
    await pool.close();
    for (const p of rooms) if (api && p) await api.deprovision(p);
  }
}

export function readLoadavg(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}
