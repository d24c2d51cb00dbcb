/**
 * `bun run bench`: start the service, provision a room over the API, drive real SIP calls
 * with RTP at it, and print one table of what the callers measured.
 *
 *   bun run apps/loadgen/src/bench.ts            quick run (50 attendees x 10 s, small setup and API runs)
 *   bun run apps/loadgen/src/bench.ts --full     1000 attendees x 60 s, 200 calls/s x 30 s, API load
 *   bun run apps/loadgen/src/bench.ts --calibrate  generator against its reference UAS (no service)
 *   bun run apps/loadgen/src/bench.ts --scenarios media,echo  the mixer, then the same callers against the C echo
 *
 * See BENCHMARKS.md for every option and what each figure means.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ApiClient } from "./api-client.ts";
import { type ApiRow, apiScenario } from "./bench-api.ts";
import { type SetupRow, setupScenario } from "./bench-call-setup.ts";
import { calibrate, env, log, num, opts, pinned } from "./bench-cli.ts";
import { echoScenario, type MediaRow, mediaScenario } from "./bench-media.ts";
import { machine, printResults } from "./bench-report.ts";
import { startTarget } from "./bench-target.ts";
import { describeMixerRx, parseMixerRx } from "./mixer-rx.ts";

// Pin the generator to its own core(s) by re-executing under taskset, so the service
// (pinned to BENCH_SERVICE_CPUS) has its core to itself.
if (pinned && env.BENCH_PINNED !== "1") {
  const child = Bun.spawn(["taskset", "-c", opts.genCpus, process.execPath, ...process.argv.slice(1)], {
    env: { ...env, BENCH_PINNED: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
  process.exit(await child.exited);
}

// Mixer workers share calls through the Redis live store (and the database with it), so
// they imply --redis and --pg whatever else was asked.
if (opts.mixerWorkers > 0 && !calibrate && !opts.external) {
  if (!opts.redis || !opts.pg)
    log(`--mixer-workers ${opts.mixerWorkers}: using PostgreSQL and Redis (workers need the Redis live store)`);
  opts.redis = true;
  opts.pg = true;
}

async function main(): Promise<number> {
  const shared = num(env.RTP_SHARED_SOCKETS, 0);
  if (shared > 0 && shared < opts.callsPerSocket && !calibrate) {
    // The mixer never puts two calls from one source on a shared socket: the rest of a
    // generator socket's callers get sockets of their own, and the run measures a mix.
    log(
      `RTP_SHARED_SOCKETS=${shared} is less than --calls-per-socket ${opts.callsPerSocket}: ${opts.callsPerSocket - shared} of every ${opts.callsPerSocket} callers get RTP sockets of their own`,
    );
  }
  const t = await startTarget();
  // Ctrl-C or a kill must not leave the service (its own process group) or the database behind.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping the service`);
      void (t.service?.stop() ?? Promise.resolve()).finally(() => {
        t.cleanup?.();
        process.exit(130);
      });
    });
  }
  const api = calibrate ? null : new ApiClient(t.apiUrl, t.adminToken);
  const media: MediaRow[] = [];
  const setup: SetupRow[] = [];
  const apiRows: ApiRow[] = [];
  let code = 0;
  try {
    for (const s of opts.scenarios) {
      try {
        if (s === "media") for (let r = 1; r <= opts.runs; r++) media.push(...(await mediaScenario(t, api, r)));
        else if (s === "echo") {
          if (!calibrate) for (let r = 1; r <= opts.runs; r++) media.push(...(await echoScenario(r)));
        } else if (s === "setup") for (let r = 1; r <= opts.runs; r++) setup.push(await setupScenario(t, api, r));
        else if (s === "api") {
          if (api) for (let r = 1; r <= opts.runs; r++) apiRows.push(...(await apiScenario(t, api, r)));
        } else log(`unknown scenario ${s}`);
      } catch (e) {
        code = 1;
        log(`scenario ${s} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        if (t.service?.exited() !== null && t.service) break;
      }
    }
  } finally {
    await t.service?.stop();
    t.cleanup?.();
  }
  const rx = t.service && existsSync(t.service.logPath) ? parseMixerRx(readFileSync(t.service.logPath, "utf8")) : null;
  const text = `${printResults(t, media, setup, apiRows)}${calibrate ? "" : `\n${describeMixerRx(rx)}`}`;
  console.log(text);
  if (opts.json) {
    mkdirSync(resolve(opts.json, ".."), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ opts, machine: machine(), media, setup, api: apiRows, mixerRx: rx }, null, 2));
    log(`results written to ${opts.json}`);
  }
  return code;
}

process.exit(await main());
