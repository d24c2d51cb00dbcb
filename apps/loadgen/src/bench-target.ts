/**
 * What `bun run bench` measures: the service it starts (or one started elsewhere), its
 * database and live store, or the C echo reference; and the generator's settings for it.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ApiClient } from "./api-client.ts";
import { calibrate, env, log, num, opts, pinned, ROOT } from "./bench-cli.ts";
import { cmdline, processTree } from "./cpu.ts";
import type { GeneratorConfig } from "./generator-types.ts";
import { randomToken } from "./random.ts";
import { freePort, sipAlive, startService, waitReady, type ServiceProcess } from "./service.ts";

const EMBEDDED = "embedded (PGlite + in-process live store)";

export interface Target {
  apiUrl: string;
  adminToken: string;
  sipHost: string;
  sipPort: number;
  service: ServiceProcess | null;
  /** Remove what the run left on disk (after the service stopped). */
  cleanup?: () => void;
  /** Pids whose CPU counts as "the mixer": the service's whole process tree. */
  mixerPids: () => number[];
  /** Every pid of the service under test. */
  servicePids: () => number[];
  mixerDesc: string;
  /** What the service keeps its data in, for the report's first line. */
  backing: string;
}

export async function startTarget(): Promise<Target> {
  if (opts.external) {
    const apiUrl = env.BENCH_API_URL ?? `http://127.0.0.1:${env.API_PORT ?? 3000}`;
    const pid = num(env.BENCH_MIXER_PID, 0);
    const api = new ApiClient(apiUrl, env.ADMIN_TOKEN ?? "");
    if (!(await api.reachable())) throw new Error(`--no-service: no HTTP answer at ${apiUrl}`);
    if (!(await sipAlive(env.SIP_HOST ?? "127.0.0.1", num(env.SIP_PORT, 5060), 2000))) {
      throw new Error(`--no-service: no SIP answer at ${env.SIP_HOST ?? "127.0.0.1"}:${num(env.SIP_PORT, 5060)}`);
    }
    return {
      apiUrl,
      adminToken: env.ADMIN_TOKEN ?? "",
      sipHost: env.SIP_HOST ?? "127.0.0.1",
      sipPort: num(env.SIP_PORT, 5060),
      service: null,
      mixerPids: () => (pid > 0 ? processTree(pid) : []),
      servicePids: () => (pid > 0 ? processTree(pid) : []),
      mixerDesc: pid > 0 ? `pid ${pid} and children` : "not measured (set BENCH_MIXER_PID)",
      backing: "whatever the external service was started with",
    };
  }
  const apiPort = await freePort("tcp");
  const sipPort = await freePort("udp");
  const adminToken = `bench-${randomToken(12)}`;
  const serviceEnv: Record<string, string> = {
    API_PORT: String(apiPort),
    SIP_PORT: String(sipPort),
    SIP_HOST: "127.0.0.1",
    RTP_PORT_MIN: env.BENCH_SERVICE_RTP_MIN ?? "20000",
    RTP_PORT_MAX: env.BENCH_SERVICE_RTP_MAX ?? "29999",
    ADMIN_TOKEN: adminToken,
    // The generator places every call from 127.0.0.1, as a carrier's trunk would: the
    // per-source INVITE limits are for a caller's own address, not a trunk's.
    SIP_TRUSTED_SOURCES: env.SIP_TRUSTED_SOURCES ?? "127.0.0.1",
  };
  // `bun run start`'s API process stays on the service's core unless told otherwise: on
  // two cores the other one is the generator's, and sharing it distorts what the
  // callers measure (BENCHMARKS.md, "1,000 attendees, embedded default").
  for (const k of ["API_CPUS", "API_SCHED", "API_NICE"]) if (env[k]) serviceEnv[k] = env[k]!;
  for (const k of ["DATABASE_URL", "REDIS_URL"]) if (env[k]) serviceEnv[k] = env[k]!;
  // A fresh embedded database per run, and a key prefix of our own on a shared Redis.
  const pgliteDir = join(ROOT, ".data", "bench", `pglite-${Date.now()}`);
  serviceEnv.PGLITE_DIR = pgliteDir;
  serviceEnv.REDIS_PREFIX = env.REDIS_PREFIX ?? `bench-${randomToken(4)}:`;
  if (opts.mixerWorkers > 0 && !calibrate) serviceEnv.MIXER_WORKERS = String(opts.mixerWorkers);
  const backing = calibrate ? null : prepareBacking(serviceEnv);
  if (opts.mixerWorkers > 0 && !calibrate && (!serviceEnv.REDIS_URL || !serviceEnv.DATABASE_URL)) {
    backing?.cleanup();
    throw new Error(
      `--mixer-workers ${opts.mixerWorkers} needs Redis and PostgreSQL (the processes share the live store and the database): ${!serviceEnv.REDIS_URL ? "Redis did not answer" : "no PostgreSQL database could be created"}`,
    );
  }
  const command = calibrate
    ? `bun run apps/loadgen/src/reference-uas.ts ${sipPort} ${serviceEnv.RTP_PORT_MIN} ${serviceEnv.RTP_PORT_MAX}`
    : opts.serviceCmd;
  const core = pinned ? opts.serviceCpus : null;
  log(`starting service: ${core !== null ? `taskset -c ${core} ` : ""}${command} (API ${apiPort}, SIP ${sipPort})`);
  const service = startService({ command, cwd: ROOT, env: serviceEnv, core, logDir: join(ROOT, ".data", "bench") });
  const api = new ApiClient(`http://127.0.0.1:${apiPort}`, adminToken);
  const ready = await waitReady(
    async () => (calibrate || (await api.reachable())) && (await sipAlive("127.0.0.1", sipPort, 500)),
    service,
    num(env.BENCH_START_TIMEOUT_MS, 90_000),
  );
  if (!ready.ok) {
    await service.stop();
    throw new Error(`service did not come up: ${ready.reason}`);
  }
  log(`service up (pid ${service.pid}, log ${service.logPath})`);
  // The whole tree: with MIXER_WORKERS the front process (SIP, API) and every mixer child
  // it spawned, found again at each sample; each one's share is in the report.
  const mixerPids = () => processTree(service.pid);
  return {
    apiUrl: api.baseUrl,
    adminToken,
    sipHost: "127.0.0.1",
    sipPort,
    service,
    cleanup: () => {
      rmSync(pgliteDir, { recursive: true, force: true });
      backing?.cleanup();
    },
    mixerPids,
    servicePids: mixerPids,
    mixerDesc:
      opts.mixerWorkers > 0 && !calibrate
        ? `whole service process tree (front + MIXER_WORKERS=${opts.mixerWorkers} mixer processes)`
        : "whole service process tree (API + mixer)",
    backing: backing?.desc ?? EMBEDDED,
  };
}

const ECHO_SOURCE = join(ROOT, "apps", "loadgen", "reference", "rtp-echo.c");

/**
 * The C echo reference, built with the system's `cc -O2` into .data/bench/ (again when
 * its source is newer), or null with the reason when there is no compiler or it failed.
 */
export function buildEcho(): { path: string } | { error: string } {
  const cc = Bun.which("cc");
  if (!cc) return { error: "no C compiler (cc) on this machine" };
  const dir = join(ROOT, ".data", "bench");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "rtp-echo");
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(ECHO_SOURCE).mtimeMs) return { path };
  const r = Bun.spawnSync([cc, "-O2", "-o", path, ECHO_SOURCE], { stderr: "pipe" });
  if (r.exitCode !== 0) return { error: `cc failed: ${r.stderr.toString().trim()}` };
  return { path };
}

/**
 * The reference UAS answering SIP with the C echo carrying the RTP, pinned like the
 * service. Its CPU figure is the echo program's alone (the SIP side is idle in the window).
 */
export async function startEchoTarget(binary: string): Promise<Target> {
  const sipPort = await freePort("udp");
  const base = opts.echoRtpBase;
  const command = `bun run apps/loadgen/src/reference-uas.ts ${sipPort} ${base} ${base + opts.echoSockets - 1} echo=${binary}:${opts.echoSockets}`;
  const core = pinned ? opts.serviceCpus : null;
  log(`starting the C echo reference: ${core !== null ? `taskset -c ${core} ` : ""}${command}`);
  const service = startService({ command, cwd: ROOT, env: {}, core, logDir: join(ROOT, ".data", "bench") });
  const ready = await waitReady(() => sipAlive("127.0.0.1", sipPort, 500), service, 30_000);
  if (!ready.ok) {
    await service.stop();
    throw new Error(`the C echo reference did not come up: ${ready.reason}`);
  }
  const echoPids = () => processTree(service.pid).filter((pid) => cmdline(pid).startsWith(binary));
  return {
    apiUrl: "",
    adminToken: "",
    sipHost: "127.0.0.1",
    sipPort,
    service,
    mixerPids: echoPids,
    servicePids: () => processTree(service.pid),
    mixerDesc: `rtp-echo (${opts.echoSockets} sockets)`,
    backing: EMBEDDED,
  };
}

/**
 * With --pg / --redis: a fresh PostgreSQL database (created with psql, dropped after) and
 * Redis under a key prefix of this run (deleted after), as production runs them.
 */
function prepareBacking(serviceEnv: Record<string, string>): { cleanup: () => void; desc: string } {
  const parts: string[] = [];
  const undo: (() => void)[] = [];
  if (opts.pg && !serviceEnv.DATABASE_URL) {
    const admin = env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const name = `conf_bench_${randomToken(4)}`;
    const r = Bun.spawnSync(["psql", admin, "-Atqc", `create database ${name}`], { stderr: "pipe" });
    if (r.exitCode === 0) {
      const u = new URL(admin);
      u.pathname = `/${name}`;
      serviceEnv.DATABASE_URL = u.toString();
      parts.push(`PostgreSQL (${name})`);
      undo.push(() => void Bun.spawnSync(["psql", admin, "-Atqc", `drop database if exists ${name} with (force)`]));
    } else {
      log(`--pg: could not create a database (${r.stderr.toString().trim()}); using the embedded default`);
    }
  }
  if (opts.redis && !serviceEnv.REDIS_URL) {
    const url = env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
    const ping = Bun.spawnSync(["redis-cli", "-u", url, "ping"], { stderr: "pipe" });
    if (ping.exitCode === 0 && ping.stdout.toString().includes("PONG")) {
      serviceEnv.REDIS_URL = url;
      const prefix = serviceEnv.REDIS_PREFIX!;
      parts.push(`Redis (prefix ${prefix})`);
      undo.push(() => {
        const keys = Bun.spawnSync(["redis-cli", "-u", url, "--scan", "--pattern", `${prefix}*`])
          .stdout.toString()
          .split("\n")
          .filter(Boolean);
        for (let i = 0; i < keys.length; i += 500) Bun.spawnSync(["redis-cli", "-u", url, "del", ...keys.slice(i, i + 500)]);
      });
    } else {
      log("--redis: Redis not reachable; using the in-process live store");
    }
  }
  let desc = parts.length ? parts.join(" + ") : EMBEDDED;
  if (serviceEnv.DATABASE_URL && !parts.some((p) => p.startsWith("PostgreSQL")))
    desc = "DATABASE_URL/REDIS_URL from the environment";
  return {
    cleanup: () => {
      for (const f of undo) f();
    },
    desc,
  };
}

export function genConfig(t: Target): GeneratorConfig {
  return {
    sip: { host: t.sipHost, port: t.sipPort },
    localHost: "127.0.0.1",
    rtpPortMin: opts.genRtpMin,
    rtpPortMax: opts.genRtpMax,
    phases: opts.phases,
    codeDelayMs: opts.codeDelayMs,
    talk: { onMs: 2400, offMs: 600 },
    lateMs: 25,
    energyEvery: 10,
    rtpLingerMs: num(env.BENCH_RTP_LINGER_MS, 0),
    callsPerSocket: opts.callsPerSocket,
  };
}
