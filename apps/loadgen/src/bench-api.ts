/**
 * The API scenario: list endpoints under a closed and an open loop, beside a bare Hono
 * route (the ceiling), with live calls so that /calls has a page to list.
 */
import { join } from "node:path";
import { type ApiClient, basicAuth } from "./api-client.ts";
import { buildSpecs, provision } from "./bench-calls.ts";
import { log, opts, pinned } from "./bench-cli.ts";
import { genConfig, type Target } from "./bench-target.ts";
import { type HttpLoadResult, runHttpLoadProcess, runWrk } from "./http-load.ts";
import { LoadPool } from "./pool.ts";
import { freePort } from "./service.ts";

export interface ApiRow {
  label: string;
  run: number;
  closed: HttpLoadResult | null;
  open: HttpLoadResult | null;
  /** For list targets (/calls): items per page while measured. */
  page?: PageWatch;
  /** Live calls the service hung up during the scenario (list targets only). */
  droppedCalls?: number;
}

/** Items on one page of `url` while a target is measured, polled about once a second. */
interface PageWatch {
  samples: number;
  /** Samples whose page was answered with no items. */
  empty: number;
  /** Samples that failed (error status, timeout: the server under load), not counted in min/max. */
  failed: number;
  min: number;
  max: number;
}

/**
 * Poll `url` (its `items` array) every `intervalMs` until stopped: the figure of a list
 * endpoint means something only if the list was not empty while it was measured. One
 * request a second is noise next to the load itself.
 */
function watchPage(url: string, headers: Record<string, string>, intervalMs = 1000) {
  const w: PageWatch = { samples: 0, empty: 0, failed: 0, min: Infinity, max: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let n: number | null = null;
      try {
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { items?: unknown[] };
        if (res.ok && Array.isArray(body.items)) n = body.items.length;
      } catch {
        n = null;
      }
      w.samples++;
      if (n === null) w.failed++;
      else {
        if (n === 0) w.empty++;
        w.min = Math.min(w.min, n);
        w.max = Math.max(w.max, n);
      }
      const until = performance.now() + intervalMs;
      while (!stopped && performance.now() < until) await Bun.sleep(50);
    }
  })();
  return {
    async stop(): Promise<PageWatch> {
      stopped = true;
      await loop;
      return { ...w, min: Number.isFinite(w.min) ? w.min : 0 };
    },
  };
}

/** Live calls of the API scenario: enough for a full /calls?limit=10 page. */
export const API_LIVE_CALLS = 20;

export async function apiScenario(t: Target, api: ApiClient, run: number): Promise<ApiRow[]> {
  const p = await provision(api, "bench-api");
  if (!p) return [];
  // Live calls so /calls has a page to list. They send silence all along, like a muted
  // phone: a call that sends nothing is hung up by the service's RTP timeout (30 s) long
  // before the three targets are measured, and /calls would be timed as an empty list.
  const pool = await LoadPool.create(0, genConfig(t));
  const calls = buildSpecs(p, API_LIVE_CALLS, 0, API_LIVE_CALLS, p.phonenumber).map((s) => ({ ...s, send: "silence" as const }));
  await pool.place(calls, 50);
  await Bun.sleep(opts.codeDelayMs + 1500);
  const genCore = pinned ? Number(opts.genCpus.split(/[,-]/)[0]) : null;
  const serviceCore = pinned ? opts.serviceCpus : null;
  const ceilingPort = await freePort("tcp");
  const ceilingCmd = ["bun", "run", join(import.meta.dir, "hono-ceiling.ts"), String(ceilingPort)];
  const ceiling = Bun.spawn(serviceCore !== null ? ["taskset", "-c", serviceCore, ...ceilingCmd] : ceilingCmd, {
    stdout: "pipe",
    stderr: "inherit",
  });
  const rows: ApiRow[] = [];
  try {
    const reader = ceiling.stdout.getReader();
    const first = await reader.read();
    reader.releaseLock();
    if (!new TextDecoder().decode(first.value).includes("listening")) throw new Error("ceiling server did not start");
    const auth = { authorization: basicAuth(p.login, p.password) };
    const targets = [
      {
        label: "GET /conference/v2/meeting_rooms?limit=10",
        url: `${t.apiUrl}/conference/v2/meeting_rooms?limit=10`,
        headers: auth,
      },
      { label: "GET /conference/v2/calls?limit=10", url: `${t.apiUrl}/conference/v2/calls?limit=10`, headers: auth },
      { label: "bare Hono route, fixed JSON (ceiling)", url: `http://127.0.0.1:${ceilingPort}/ceiling`, headers: {} },
    ];
    for (const tg of targets) {
      log(`api: ${tg.label}`);
      const base = {
        url: tg.url,
        headers: tg.headers,
        durationS: opts.apiDurationS,
        concurrency: opts.apiConcurrency,
        core: genCore,
      };
      const watch = tg.url.includes("/calls") ? watchPage(tg.url, tg.headers) : null;
      const closed = (await runWrk(base)) ?? (await runHttpLoadProcess(base));
      await Bun.sleep(500);
      const open = await runHttpLoadProcess({ ...base, rate: opts.apiRate, concurrency: 256 });
      const page = watch ? await watch.stop() : undefined;
      if (page && page.empty > 0) log(`api: ${tg.label} returned an empty page in ${page.empty} of ${page.samples} samples`);
      else if (page)
        log(`api: ${tg.label} page had ${page.min}-${page.max} items over ${page.samples} samples (${page.failed} failed)`);
      rows.push({ label: tg.label, run, closed, open, ...(page ? { page } : {}) });
    }
    const gen = await pool.reports();
    const dropped = gen.flatMap((r) => r.calls).filter((c) => c.remoteByeAt !== null).length;
    if (dropped > 0) log(`api: the service hung up ${dropped} of the ${API_LIVE_CALLS} live calls during the scenario`);
    for (const r of rows) if (r.page) r.droppedCalls = dropped;
  } finally {
    ceiling.kill();
    await pool.hangupAll(100);
    await pool.close();
    await api.deprovision(p);
  }
  return rows;
}
