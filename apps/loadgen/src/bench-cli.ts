/**
 * `bun run bench`'s options: the command line and BENCH_* variables, read once when this
 * module loads; what the scenarios, the target and the report read of them.
 */
import { cpus } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { SendMode } from "./generator-types.ts";
import { canPin } from "./service.ts";

export const ROOT = resolve(import.meta.dir, "../../..");

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
    "flood-cycles": { type: "string" },
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

export const env = process.env;
export const num = (v: string | undefined, d: number) =>
  v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : d;
export const full = args.full || env.BENCH_FULL === "1";
export const calibrate = args.calibrate || env.BENCH_CALIBRATE === "1";

export const opts = {
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
  /**
   * Quiet-then-flooded window pairs per media run (with --api-flood): alternating on the
   * same callers, so that drift over a run (the join storm's aftermath, the machine's other
   * load) falls on both kinds of window alike.
   */
  floodCycles: Math.max(1, Math.floor(num(args["flood-cycles"] ?? env.BENCH_API_FLOOD_CYCLES, 1))),
  /** taskset CPU list of the flood's process (default: the generator's, under SCHED_IDLE). */
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

export const log = (...a: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Whether the service and generator are pinned (decided once, before bench.ts re-executes itself under taskset). */
export const pinned = env.BENCH_PINNED === "1" || (opts.pin && canPin());

/**
 * One generator thread per CPU the generator may use: more threads than cores only add
 * switching, while one thread per core lets the receive path of each run undisturbed.
 */
export function defaultWorkers(): number {
  if (!pinned) return Math.max(1, cpus().length - 1);
  let n = 0;
  for (const part of opts.genCpus.split(",")) {
    const [a, b] = part.split("-").map(Number);
    n += b !== undefined && Number.isFinite(b) && Number.isFinite(a) ? b - a! + 1 : 1;
  }
  return Math.max(1, n);
}
