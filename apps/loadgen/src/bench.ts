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
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ApiClient, basicAuth, numberOf, type Provisioned } from "./api-client.ts";
import { cmdline, CpuSampler, ForeignLoad, processTree, type CpuSummary } from "./cpu.ts";
import type { CallSpec, GeneratorConfig, SendMode } from "./generator.ts";
import { runHttpLoadProcess, runWrk, wrkPath, type HttpLoadResult } from "./http-load.ts";
import { LoadPool } from "./pool.ts";
import { describeMixerRx, parseMixerRx, parseMixerTicks, type MixerTicks } from "./mixer-rx.ts";
import { fmt, median, mergeMedia, setupFigures, table, type JoinTimes, type MediaFigures, type SetupFigures } from "./report.ts";
import { randomToken } from "./random.ts";
import { canPin, freePort, sipAlive, startService, waitReady, type ServiceProcess } from "./service.ts";

const ROOT = resolve(import.meta.dir, "../../..");

const { values: args } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    calibrate: { type: "boolean", default: false },
    scenarios: { type: "string" },
    attendees: { type: "string" },
    talkers: { type: "string" },
    listeners: { type: "string" },
    "listener-send": { type: "string" },
    meetings: { type: "string" },
    duration: { type: "string" },
    runs: { type: "string" },
    workers: { type: "string" },
    phases: { type: "string" },
    "join-rate": { type: "string" },
    "setup-rate": { type: "string" },
    "setup-duration": { type: "string" },
    "setup-hold": { type: "string" },
    "api-duration": { type: "string" },
    "api-rate": { type: "string" },
    "api-concurrency": { type: "string" },
    "api-flood": { type: "string" },
    "api-flood-cpus": { type: "string" },
    "code-delay": { type: "string" },
    "calls-per-socket": { type: "string" },
    "echo-sockets": { type: "string" },
    "mixer-workers": { type: "string" },
    "service-cpus": { type: "string" },
    "gen-cpus": { type: "string" },
    "no-pin": { type: "boolean", default: false },
    "no-service": { type: "boolean", default: false },
    pg: { type: "boolean" },
    redis: { type: "boolean" },
    json: { type: "string" },
  },
  allowPositionals: false,
});

const env = process.env;
const num = (v: string | undefined, d: number) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : d);
const full = args.full || env.BENCH_FULL === "1";
const calibrate = args.calibrate || env.BENCH_CALIBRATE === "1";

const opts = {
  scenarios: (args.scenarios ?? env.BENCH_SCENARIOS ?? (calibrate ? "media" : "media,echo,setup,api"))
    .split(",")
    .map((s) => s.trim()),
  attendees: num(args.attendees ?? env.BENCH_ATTENDEES, full ? 1000 : 50),
  talkers: num(args.talkers ?? env.BENCH_TALKERS, full ? 10 : 5),
  listeners: num(args.listeners ?? env.BENCH_LISTENERS, full ? 500 : 20),
  listenerSend: (args["listener-send"] ?? env.BENCH_LISTENER_SEND ?? "silence") as SendMode,
  meetings: num(args.meetings ?? env.BENCH_MEETINGS, 1),
  durationS: num(args.duration ?? env.BENCH_DURATION, full ? 60 : 10),
  runs: num(args.runs ?? env.BENCH_RUNS, 1),
  workers: args.workers ?? env.BENCH_WORKERS,
  phases: num(args.phases ?? env.BENCH_PHASES, 4),
  joinRate: num(args["join-rate"] ?? env.BENCH_JOIN_RATE, full ? 100 : 50),
  setupRate: num(args["setup-rate"] ?? env.BENCH_SETUP_RATE, full ? 200 : 20),
  setupDurationS: num(args["setup-duration"] ?? env.BENCH_SETUP_DURATION, full ? 30 : 5),
  setupHoldS: num(args["setup-hold"] ?? env.BENCH_SETUP_HOLD, full ? 5 : 3),
  apiDurationS: num(args["api-duration"] ?? env.BENCH_API_DURATION, full ? 15 : 5),
  apiRate: num(args["api-rate"] ?? env.BENCH_API_RATE, 1000),
  apiConcurrency: num(args["api-concurrency"] ?? env.BENCH_API_CONCURRENCY, 32),
  /**
   * With N > 0 every media run measures two windows on the same callers: one quiet, then
   * one while a second process sends the worst `like` filters to /calls, N at a time.
   */
  apiFlood: Math.max(0, Math.floor(num(args["api-flood"] ?? env.BENCH_API_FLOOD, 0))),
  /** taskset CPU list of the flood's process (default: the generator's, at nice 10). */
  apiFloodCpus: args["api-flood-cpus"] ?? env.BENCH_API_FLOOD_CPUS,
  /** The service's MIXER_STATS_SECONDS (passed on from this environment): tick lines in its log. */
  statsSeconds: num(env.MIXER_STATS_SECONDS, 0),
  codeDelayMs: num(args["code-delay"] ?? env.BENCH_CODE_DELAY_MS, 500),
  callsPerSocket: num(args["calls-per-socket"] ?? env.BENCH_CALLS_PER_SOCKET, 25),
  /** UDP sockets of the C echo reference (the echo scenario); at least the callers per generator socket. */
  echoSockets: Math.max(1, Math.floor(num(args["echo-sockets"] ?? env.BENCH_ECHO_SOCKETS, 32))),
  /** First port of the C echo's sockets (outside the service's RTP range: both may be up at once). */
  echoRtpBase: num(env.BENCH_ECHO_RTP_BASE, 30000),
  /** MIXER_WORKERS for the service: mixing in N child processes (0 = in the service's own process). */
  mixerWorkers: Math.max(0, Math.floor(num(args["mixer-workers"] ?? env.BENCH_MIXER_WORKERS, 0))),
  pin: !args["no-pin"] && env.BENCH_NO_PIN !== "1",
  external: args["no-service"] || env.BENCH_NO_SERVICE === "1",
  /** Fresh PostgreSQL database for the service (default with --full when reachable). */
  pg: args.pg ?? (env.BENCH_PG !== undefined ? env.BENCH_PG === "1" : full),
  /** Redis live store for the service (default with --full when reachable). */
  redis: args.redis ?? (env.BENCH_REDIS !== undefined ? env.BENCH_REDIS === "1" : full),
  serviceCmd: env.BENCH_SERVICE_CMD ?? "bun run scripts/start.ts",
  serviceCpus: args["service-cpus"] ?? env.BENCH_SERVICE_CPUS ?? "0",
  genCpus: args["gen-cpus"] ?? env.BENCH_GEN_CPUS ?? "1",
  genRtpMin: num(env.BENCH_RTP_PORT_MIN, 40000),
  genRtpMax: num(env.BENCH_RTP_PORT_MAX, 49999),
  json: args.json ?? env.BENCH_JSON,
};

const log = (...a: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// Pin the generator to its own core(s) by re-executing under taskset, so the service
// (pinned to BENCH_SERVICE_CPUS) has its core to itself.
/** Whether the service and generator are pinned (decided once, before the re-exec). */
const pinned = env.BENCH_PINNED === "1" || (opts.pin && canPin());
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

interface Target {
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
}

async function startTarget(): Promise<Target> {
  if (opts.external) {
    backingDesc = "whatever the external service was started with";
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
  if (env.API_CPUS) serviceEnv.API_CPUS = env.API_CPUS;
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
  };
}

const ECHO_SOURCE = join(ROOT, "apps", "loadgen", "reference", "rtp-echo.c");

/**
 * The C echo reference, built with the system's `cc -O2` into .data/bench/ (again when
 * its source is newer), or null with the reason when there is no compiler or it failed.
 */
function buildEcho(): { path: string } | { error: string } {
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
async function startEchoTarget(binary: string): Promise<Target> {
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
  };
}

/** The media scenario against the C echo: the same callers, no mixer. */
async function echoScenario(run: number): Promise<MediaRow[]> {
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
 * One generator thread per CPU the generator may use: more threads than cores only add
 * switching, while one thread per core lets the receive path of each run undisturbed.
 */
function defaultWorkers(): number {
  if (!pinned) return Math.max(1, cpus().length - 1);
  let n = 0;
  for (const part of opts.genCpus.split(",")) {
    const [a, b] = part.split("-").map(Number);
    n += b !== undefined && Number.isFinite(b) && Number.isFinite(a) ? b - a! + 1 : 1;
  }
  return Math.max(1, n);
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
  backingDesc = parts.length ? parts.join(" + ") : "embedded (PGlite + in-process live store)";
  if (serviceEnv.DATABASE_URL && !parts.some((p) => p.startsWith("PostgreSQL")))
    backingDesc = "DATABASE_URL/REDIS_URL from the environment";
  return {
    cleanup: () => {
      for (const f of undo) f();
    },
    desc: backingDesc,
  };
}

let backingDesc = "embedded (PGlite + in-process live store)";

function genConfig(t: Target): GeneratorConfig {
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

const runTag = String(Math.floor(Math.random() * 9000) + 1000);
let callSeq = 0;
/** A distinct caller number per call across the whole run. */
const nextNumber = () => `2${runTag}${String(callSeq++).padStart(6, "0")}`;
const code6 = () => String(Math.floor(Math.random() * 900000) + 100000);

async function provision(api: ApiClient | null, name: string): Promise<Provisioned | null> {
  if (!api) return null;
  const codes = { host: code6(), participant: code6(), listener: code6() };
  while (new Set(Object.values(codes)).size < 3) codes.listener = code6();
  const phonenumber = `1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  return api.provision({ name: `${name}-${runTag}-${randomToken(2)}`, phonenumber, codes });
}

/** Poll the API's live calls, recording when each of our numbers was first seen joined. */
function joinWatcher(api: ApiClient | null, p: Provisioned | null, intervalMs: number) {
  const joins: JoinTimes = new Map();
  let stopped = false;
  let errors = 0;
  let lastCount = 0;
  let lastError = "";
  const loop = (async () => {
    if (!api || !p) return;
    while (!stopped) {
      const t0 = Date.now();
      try {
        const calls = await api.listCalls(p);
        lastCount = calls.length;
        for (const c of calls) {
          if (!c.meeting_sid) continue;
          const n = numberOf(c.number_src);
          if (joins.has(n)) continue;
          const dj = c.date_joined ? Date.parse(c.date_joined) : NaN;
          joins.set(n, Number.isFinite(dj) ? dj : t0);
        }
      } catch (e) {
        errors++;
        lastError = String(e);
      }
      await Bun.sleep(Math.max(0, intervalMs - (Date.now() - t0)));
    }
  })();
  return {
    joins,
    get errors() {
      return errors;
    },
    get lastError() {
      return lastError;
    },
    get lastCount() {
      return lastCount;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function apiCounts(
  api: ApiClient | null,
  p: Provisioned | null,
): Promise<{ calls: number; attendees: number; meetings: number } | null> {
  if (!api || !p) return null;
  try {
    const [calls, meetings] = await Promise.all([api.listCalls(p), api.listMeetings(p)]);
    const attendees = meetings.reduce(
      (a, m) => a + (m.attendees ? m.attendees.hosts + m.attendees.participants + m.attendees.listeners : 0),
      0,
    );
    return { calls: calls.length, attendees, meetings: meetings.length };
  } catch (e) {
    log(`API count failed: ${String(e)}`);
    return null;
  }
}

type Counts = { calls: number; attendees: number; meetings: number };

/** Sum per-account counts (each meeting room is its own account); null if any is unknown. */
function sumCounts(list: (Counts | null)[]): Counts | null {
  if (list.length === 0 || list.some((c) => c === null)) return null;
  return list.reduce<Counts>(
    (a, c) => ({ calls: a.calls + c!.calls, attendees: a.attendees + c!.attendees, meetings: a.meetings + c!.meetings }),
    { calls: 0, attendees: 0, meetings: 0 },
  );
}

async function waitApiEmpty(api: ApiClient | null, p: Provisioned | null, timeoutMs: number) {
  let last = await apiCounts(api, p);
  const end = performance.now() + timeoutMs;
  while (last && (last.calls > 0 || last.meetings > 0) && performance.now() < end) {
    await Bun.sleep(500);
    last = await apiCounts(api, p);
  }
  return last;
}

interface MediaRow {
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

interface SetupRow {
  kind: "setup";
  label: string;
  setup: SetupFigures;
  cpu: CpuSummary;
  apiAfter: { calls: number; attendees: number; meetings: number } | null;
  pollErrors: number;
}

interface ApiRow {
  label: string;
  run: number;
  closed: HttpLoadResult | null;
  open: HttpLoadResult | null;
  /** For list targets (/calls): items per page while measured. */
  page?: PageWatch;
  /** Live calls the service hung up during the scenario (list targets only). */
  droppedCalls?: number;
}

function buildSpecs(p: Provisioned | null, count: number, talkers: number, listeners: number, phonenumber: string): CallSpec[] {
  const specs: CallSpec[] = [];
  for (let i = 0; i < count; i++) {
    const talker = i < talkers;
    const listener = !talker && i >= count - listeners;
    const role = i === 0 ? "host" : listener ? "listener" : "participant";
    const code = p ? p.codes[role] : "1234";
    specs.push({
      index: callSeq,
      fromUser: nextNumber(),
      toUser: phonenumber,
      digits: `${code}#`,
      role,
      send: talker ? "voice" : listener ? opts.listenerSend : "silence",
      talker: i,
    });
  }
  return specs;
}

/** Calls renamed to 255 "a" before a flood (BENCH_API_FLOOD_RENAMES): the names the worst `like` patterns backtrack over. */
const FLOOD_RENAMES = Math.max(0, Math.floor(num(env.BENCH_API_FLOOD_RENAMES, 5)));
const FLOOD_NAME = "a".repeat(255);
/** Replaced by each request's number in the flood's URLs (unreserved characters: it survives URL encoding). */
const FLOOD_TOKEN = "__N__";
/**
 * The flood's filters: `like` patterns that a backtracking matcher takes exponential or
 * high-polynomial time over with a long run of "a" (the issue's 8.9 s request is the
 * first), in both operators and with `_`, and one whose many conditions all hold until
 * the last, so that each is evaluated. Each request adds `and name ne "<unique>"` so that
 * no read cache can answer it.
 */
const FLOOD_FILTERS = [
  'name like "%a%a%a%a%b"',
  'name like "%a%a%a%a%a%a%a%b"',
  'name ilike "%A%A%A%A%A%A%B"',
  'name like "_%_%_%_%_%_%_%_%b"',
  `name like "${"%a".repeat(40)}%b"`,
  'name like "%a%a%a" and name like "%a%a%a%a%a" and name ilike "%a%a%a%a%a%a" and name like "%a%a%a%a%a%a%a%c"',
];

interface FloodFigures {
  concurrency: number;
  /** PATCH statuses of the renames (0: no answer). */
  renames: number[];
  filters: string[];
  /** CPUs of the flood's process, or null when not pinned. */
  cpus: string | null;
  result: HttpLoadResult | null;
  /** Why the flood could not run or failed, if it did. */
  error?: string;
}

/** Rename a few live calls of `p` to 255 "a" over its API, then flood /calls with the worst filters from a second process. */
async function runFlood(t: Target, api: ApiClient, p: Provisioned, durationS: number): Promise<FloodFigures> {
  const cpus = pinned ? (opts.apiFloodCpus ?? opts.genCpus) : null;
  const fig: FloodFigures = { concurrency: opts.apiFlood, renames: [], filters: FLOOD_FILTERS, cpus, result: null };
  const t0 = performance.now();
  try {
    const calls = (await api.listCalls(p)).filter((c) => c.meeting_sid);
    for (const c of calls.slice(0, FLOOD_RENAMES)) fig.renames.push(await api.updateCall(p, c.call_sid, { name: FLOOD_NAME }));
  } catch (e) {
    fig.error = `renaming: ${String(e)}`;
  }
  const tag = randomToken(3);
  const urls = FLOOD_FILTERS.map(
    (f) => `${t.apiUrl}/conference/v2/calls?filter=${encodeURIComponent(`${f} and name ne "flood-${tag}-${FLOOD_TOKEN}"`)}`,
  );
  const left = durationS - (performance.now() - t0) / 1000;
  try {
    fig.result = await runHttpLoadProcess({
      url: urls[0]!,
      moreUrls: urls.slice(1),
      uniqueToken: FLOOD_TOKEN,
      abortAtEnd: true,
      headers: { authorization: basicAuth(p.login, p.password) },
      durationS: Math.max(1, left),
      concurrency: opts.apiFlood,
      core: cpus,
      // Beside the generator, below it: the flood takes what the generator leaves.
      nice: 10,
    });
  } catch (e) {
    fig.error = `${fig.error ? `${fig.error}; ` : ""}flood: ${String(e)}`;
  }
  return fig;
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
async function mediaScenario(t: Target, api: ApiClient | null, run: number, name = "media"): Promise<MediaRow[]> {
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
    const floods = opts.apiFlood > 0 && api ? [false, true] : [false];
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
    return windows.map(({ reports: _reports, ...w }) => ({
      kind: "media",
      label: w.flood
        ? `${base} + API flood c=${opts.apiFlood} #${run}`
        : `${base}${floods.length > 1 ? " (no flood)" : ""} #${run}`,
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

async function setupScenario(t: Target, api: ApiClient | null, run: number): Promise<SetupRow> {
  const p = await provision(api, "bench-setup");
  const count = Math.round(opts.setupRate * opts.setupDurationS);
  const specs: CallSpec[] = Array.from({ length: count }, () => ({
    index: callSeq,
    fromUser: nextNumber(),
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
const API_LIVE_CALLS = 20;

async function apiScenario(t: Target, api: ApiClient, run: number): Promise<ApiRow[]> {
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

function readLoadavg(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

function machine(): string {
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
    `flood of ${f.filters.length} filter shapes (each request unique) from a second process${f.cpus !== null ? ` on CPU ${f.cpus} at nice 10` : ""}, ${f.concurrency} at a time: ` +
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

function printResults(t: Target, media: MediaRow[], setup: SetupRow[], apiRows: ApiRow[]): string {
  const out: string[] = [];
  out.push(
    `machine: ${machine()}; service backing: ${calibrate ? "reference UAS (calibration)" : backingDesc}; ${opts.external ? `service started elsewhere${pinned ? `, generator pinned to CPU ${opts.genCpus}` : ""}` : `service ${pinned ? `pinned to CPU ${opts.serviceCpus}, generator to CPU ${opts.genCpus}` : "not pinned"}`}; CPU measured: ${t.mixerDesc}`,
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
