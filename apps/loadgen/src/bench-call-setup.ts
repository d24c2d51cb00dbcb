/** The call-setup scenario: calls placed at a steady rate, each held a few seconds, then hung up. */
import type { ApiClient } from "./api-client.ts";
import { joinWatcher, nextCaller, provision, waitApiEmpty } from "./bench-calls.ts";
import { defaultWorkers, log, opts } from "./bench-cli.ts";
import { genConfig, type Target } from "./bench-target.ts";
import { CpuSampler, type CpuSummary } from "./cpu.ts";
import type { CallSpec } from "./generator-types.ts";
import { LoadPool } from "./pool.ts";
import { type SetupFigures, setupFigures } from "./report.ts";

export interface SetupRow {
  kind: "setup";
  label: string;
  setup: SetupFigures;
  cpu: CpuSummary;
  apiAfter: { calls: number; attendees: number; meetings: number } | null;
  pollErrors: number;
}

export async function setupScenario(t: Target, api: ApiClient | null, run: number): Promise<SetupRow> {
  const p = await provision(api, "bench-setup");
  const count = Math.round(opts.setupRate * opts.setupDurationS);
  const specs: CallSpec[] = Array.from({ length: count }, () => ({
    ...nextCaller(),
    toUser: p?.phonenumber ?? "15550000000",
    digits: `${p?.codes.listener ?? "1234"}#`,
    role: "listener" as const,
    send: "none" as const,
    talker: 0,
    holdMs: opts.setupHoldS * 1000,
  }));
  const workers = opts.workers !== undefined ? Number(opts.workers) : defaultWorkers();
  const pool = await LoadPool.create(workers, genConfig(t));
  const watcher = joinWatcher(api, p, 500);
  const cpu = new CpuSampler(t.mixerPids, 1000);
  log(`setup: ${count} calls at ${opts.setupRate}/s, each held ${opts.setupHoldS} s`);
  try {
    cpu.start();
    await pool.place(specs, opts.setupRate);
    await Bun.sleep((opts.setupHoldS + 2) * 1000);
    const cpuSum = cpu.stop();
    await watcher.stop();
    await pool.hangupAll(200);
    const reports = await pool.reports();
    const apiAfter = await waitApiEmpty(api, p, 15_000);
    if (watcher.errors > 0) log(`join polling errors: ${watcher.errors} (last: ${watcher.lastError})`);
    return {
      kind: "setup",
      label: `call setup #${run}`,
      setup: setupFigures(
        reports.flatMap((r) => r.calls),
        api ? watcher.joins : null,
      ),
      cpu: cpuSum,
      apiAfter,
      pollErrors: watcher.errors,
    };
  } finally {
    await pool.close();
    if (api && p) await api.deprovision(p);
  }
}
