import { z } from "zod";
import { workersUnsupported } from "./workers.ts";

const port = z.coerce.number().int().min(0).max(65535);

/** The mixer's environment, parsed once at start-up. */
export const mixerEnvSchema = z.object({
  SIP_PORT: port.default(5060),
  SIP_HOST: z.string().min(1).default("127.0.0.1"),
  RTP_PORT_MIN: port.default(20000),
  RTP_PORT_MAX: port.default(29999),
  /** Shared RTP sockets to spread calls over (batched sends, for carrier/SBC traffic); 0: one per call. */
  RTP_SHARED_SOCKETS: z.coerce.number().int().min(0).max(256).default(0),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  REDIS_PREFIX: z.string().default("conf:"),
  /** A Redis command fails after this many ms without an answer (the mix never waits on Redis). */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(1000),
  /** A Redis connection attempt gives up after this many ms. */
  REDIS_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(2000),
  /**
   * After Redis restarts empty, how long a caller whose meeting is not in the store yet
   * waits for the mixers to write theirs back before a new meeting is made, ms.
   */
  STORE_RESTORE_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(3000),
  /** Names this node in meeting leases; defaults to host:port. */
  NODE_ID: z.string().optional(),
  /** Where `local` recordings are written. */
  RECORDING_DIR: z.string().default(".data/recordings"),
  /** Wrong access codes from one caller number before it is slowed down, then refused. */
  CODE_GUESS_LIMIT: z.coerce.number().int().min(1).default(10),
  /** How long a caller number stays refused after passing the limit, in seconds. */
  CODE_GUESS_BAN_SECONDS: z.coerce.number().int().min(1).default(600),
  /**
   * Child processes that mix the meetings (one per core is the point); this process
   * answers calls, runs the IVR and hands admitted callers over. 0: mix here.
   * Needs DATABASE_URL and REDIS_URL.
   */
  MIXER_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
  /** Set by the front for its workers: a worker exits when its parent is gone. */
  MIXER_PARENT_PID: z.coerce.number().int().optional(),
  /** Sub-ticks each 20 ms frame's packets are spread over, so sending never holds the event loop long. */
  MIXER_SEND_PHASES: z.coerce.number().int().min(1).max(10).default(1),
  /** Log how late the 20 ms ticks run (p50/p99/p99.9/max) every this many seconds; 0: never. */
  MIXER_STATS_SECONDS: z.coerce.number().min(0).default(0),
  /** Seconds without RTP from a joined caller before it is hung up. */
  RTP_TIMEOUT_SECONDS: z.coerce.number().min(1).default(30),
});
export type MixerEnv = z.infer<typeof mixerEnvSchema>;

/** Parses the environment or exits naming the bad variable. */
export function readMixerEnv(env: Record<string, string | undefined> = process.env): MixerEnv {
  const r = mixerEnvSchema.safeParse(env);
  if (!r.success) {
    for (const issue of r.error.issues) console.error(`mixer: bad ${issue.path.join(".")}: ${issue.message}`);
    process.exit(1);
  }
  if (r.data.RTP_PORT_MIN > r.data.RTP_PORT_MAX) {
    console.error("mixer: bad RTP_PORT_MIN: must not exceed RTP_PORT_MAX");
    process.exit(1);
  }
  const workers = workersUnsupported(r.data);
  if (workers) {
    console.error(`mixer: bad MIXER_WORKERS: ${workers}`);
    process.exit(1);
  }
  return r.data;
}
