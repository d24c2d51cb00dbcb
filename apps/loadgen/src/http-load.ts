/**
 * HTTP load from a separate process: closed loop (N connections as fast as they go) for
 * the throughput ceiling, or open loop (a fixed request rate) for latency at a given load.
 * Run as a CLI (prints one JSON line) or call `runHttpLoad`. `runWrk` uses wrk (Debian's
 * package) for the closed-loop figure when it is installed, since a C client leaves more
 * of the machine to the server.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { Histogram } from "./rtp/stats.ts";

export interface HttpLoadResult {
  tool: "bun-fetch" | "wrk";
  mode: "closed" | "open";
  url: string;
  durationS: number;
  requests: number;
  errors: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Open loop only: requests that could not start on time because all slots were busy. */
  behind?: number;
  /**
   * With `abortAtEnd`: requests still waiting for their answer when the time was up,
   * aborted then and kept out of the latency figures (which are those of answered
   * requests); `statuses.unfinished` counts them too.
   */
  unfinished?: number;
  /** With `abortAtEnd`: how long the oldest aborted request had waited, ms (a lower bound of its latency). */
  unfinishedMaxMs?: number;
}

export interface HttpLoadOptions {
  url: string;
  /** More URLs: request i goes to `[url, ...moreUrls][i % n]`. */
  moreUrls?: string[];
  /**
   * Every occurrence of this text in a URL is replaced by the request's number, so that
   * no two requests ask the same thing (a server's response cache cannot answer them).
   */
  uniqueToken?: string;
  /**
   * Abort what is still in flight `abortGraceMs` (default 1000) after the duration is up
   * instead of waiting for it: no new request starts after the end, and an answer that
   * takes longer than the grace counts as unfinished.
   */
  abortAtEnd?: boolean;
  abortGraceMs?: number;
  headers?: Record<string, string>;
  durationS: number;
  /** Closed loop: concurrent requests in flight. */
  concurrency: number;
  /** Open loop when > 0: requests per second. */
  rate?: number;
}

export async function runHttpLoad(opts: HttpLoadOptions): Promise<HttpLoadResult> {
  const lat = new Histogram(0.01, 2000);
  const statuses: Record<string, number> = {};
  let errors = 0;
  let requests = 0;
  const end = performance.now() + opts.durationS * 1000;
  const headers = opts.headers ?? {};
  const urls = [opts.url, ...(opts.moreUrls ?? [])];
  const token = opts.uniqueToken;
  // One abort for everything still in flight at the end: a request a server never answers
  // (or answers after minutes) must not stretch the measured window.
  const stop = opts.abortAtEnd ? new AbortController() : null;
  const stopTimer = stop
    ? setTimeout(() => stop.abort(), Math.max(0, end - performance.now()) + (opts.abortGraceMs ?? 1000))
    : null;
  let unfinished = 0;
  let unfinishedMaxMs = 0;
  let seq = 0;
  const running = () => performance.now() < end && !stop?.signal.aborted;
  const one = async (): Promise<void> => {
    const n = seq++;
    const base = urls[n % urls.length]!;
    const url = token ? base.replaceAll(token, String(n)) : base;
    const t0 = performance.now();
    try {
      const res = await fetch(url, { headers, keepalive: true, ...(stop ? { signal: stop.signal } : {}) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 400) errors++;
    } catch {
      if (stop?.signal.aborted) {
        unfinished++;
        unfinishedMaxMs = Math.max(unfinishedMaxMs, performance.now() - t0);
        statuses.unfinished = (statuses.unfinished ?? 0) + 1;
        requests++;
        return;
      }
      errors++;
      statuses.error = (statuses.error ?? 0) + 1;
    }
    lat.record(performance.now() - t0);
    requests++;
  };
  const started = performance.now();
  let behind = 0;
  if (opts.rate && opts.rate > 0) {
    // Open loop: start request i at started + i/rate, whatever the previous ones do,
    // bounded by `concurrency` in flight so an overloaded server cannot exhaust sockets.
    let inflight = 0;
    let i = 0;
    const interval = 1000 / opts.rate;
    while (running()) {
      const due = started + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await Bun.sleep(wait);
      if (!running()) break;
      if (inflight >= opts.concurrency) {
        behind++;
        await Bun.sleep(0);
        i++;
        continue;
      }
      inflight++;
      void one().finally(() => inflight--);
      i++;
    }
    while (inflight > 0) await Bun.sleep(5);
  } else {
    const loop = async () => {
      while (running()) await one();
    };
    await Promise.all(Array.from({ length: opts.concurrency }, loop));
  }
  if (stopTimer) clearTimeout(stopTimer);
  const secs = (performance.now() - started) / 1000;
  return {
    tool: "bun-fetch",
    mode: opts.rate ? "open" : "closed",
    url: opts.url,
    durationS: secs,
    requests,
    errors,
    statuses,
    rps: requests / secs,
    p50Ms: lat.quantile(0.5),
    p99Ms: lat.quantile(0.99),
    maxMs: lat.max,
    ...(opts.rate ? { behind } : {}),
    ...(stop ? { unfinished, unfinishedMaxMs } : {}),
  };
}

/** Path of wrk if installed. */
export function wrkPath(): string | null {
  return Bun.which("wrk");
}

function wrkMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60000 : n;
}

/** Parse wrk --latency output. */
export function parseWrk(out: string, url: string, durationS: number): HttpLoadResult | null {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!rps || !total) return null;
  const pct = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`).exec(out);
    return m ? wrkMs(m[1]!, m[2]!) : NaN;
  };
  const max = /Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(non2xx?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return {
    tool: "wrk",
    mode: "closed",
    url,
    durationS,
    requests: Number(total[1]),
    errors,
    statuses: {},
    rps: Number(rps[1]),
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    maxMs: max ? wrkMs(max[1]!, max[2]!) : NaN,
  };
}

/** Closed-loop load with wrk (1 thread, `concurrency` connections), pinned to `core` if given. */
export async function runWrk(opts: HttpLoadOptions & { core: number | null }): Promise<HttpLoadResult | null> {
  const wrk = wrkPath();
  if (!wrk) return null;
  const args = [wrk, "-t1", `-c${opts.concurrency}`, `-d${opts.durationS}s`, "--latency"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  args.push(opts.url);
  const cmd = opts.core === null ? args : ["taskset", "-c", String(opts.core), ...args];
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return parseWrk(out, opts.url, opts.durationS);
}

/**
 * Run this module as a separate process and read its JSON: pinned to `core` (a CPU or a
 * taskset list) if given, and at a lower priority with `nice` so that it yields its CPU
 * to whatever else runs there.
 */
export async function runHttpLoadProcess(
  opts: HttpLoadOptions & { core: number | string | null; nice?: number; idle?: boolean },
): Promise<HttpLoadResult> {
  const args = [
    "bun",
    "run",
    import.meta.path,
    "--url",
    opts.url,
    "--duration",
    String(opts.durationS),
    "--concurrency",
    String(opts.concurrency),
  ];
  for (const u of opts.moreUrls ?? []) args.push("--url", u);
  if (opts.uniqueToken) args.push("--unique", opts.uniqueToken);
  if (opts.abortAtEnd) args.push("--abort-at-end");
  if (opts.abortGraceMs !== undefined) args.push("--abort-grace-ms", String(opts.abortGraceMs));
  if (opts.rate) args.push("--rate", String(opts.rate));
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("--header", `${k}: ${v}`);
  // SCHED_IDLE (where chrt exists) runs it only on what the core's other work leaves.
  const idle = opts.idle && existsSync("/usr/bin/chrt");
  const niced = idle ? ["chrt", "--idle", "0", ...args] : opts.nice ? ["nice", "-n", String(opts.nice), ...args] : args;
  const cmd = opts.core === null ? niced : ["taskset", "-c", String(opts.core), ...niced];
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  const code = await p.exited;
  const line = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`http-load exited ${code}: ${out.slice(0, 300)}`);
  return JSON.parse(line) as HttpLoadResult;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: "string", multiple: true, default: [] },
      unique: { type: "string" },
      "abort-at-end": { type: "boolean", default: false },
      "abort-grace-ms": { type: "string" },
      duration: { type: "string", default: "10" },
      concurrency: { type: "string", default: "32" },
      rate: { type: "string", default: "0" },
      header: { type: "string", multiple: true, default: [] },
    },
  });
  const [url, ...moreUrls] = values.url ?? [];
  if (!url) {
    console.error(
      "usage: bun run http-load.ts --url URL [--url URL...] [--unique TOKEN] [--abort-at-end] [--duration S] [--concurrency N] [--rate RPS] [--header 'K: V']",
    );
    process.exit(2);
  }
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(":");
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const r = await runHttpLoad({
    url,
    moreUrls,
    ...(values.unique ? { uniqueToken: values.unique } : {}),
    abortAtEnd: values["abort-at-end"],
    ...(values["abort-grace-ms"] ? { abortGraceMs: Number(values["abort-grace-ms"]) } : {}),
    headers,
    durationS: Number(values.duration),
    concurrency: Number(values.concurrency),
    rate: Number(values.rate),
  });
  console.log(JSON.stringify(r));
}
