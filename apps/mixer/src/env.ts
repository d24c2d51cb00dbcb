import { z } from "zod";
import { TrustedSources } from "./guess-limiter.ts";
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
  /** 1: shared RTP sockets are read (recvmmsg, once a tick) and written (sendmmsg) in batches through bun:ffi. */
  RTP_BATCH_IO: z.enum(["0", "1"]).default("0").transform((v) => v === "1"),
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
  /**
   * Wrong access codes from one source address (or, through a trusted source, one
   * calling number) per window before it is slowed down (past half), then refused.
   */
  CODE_GUESS_LIMIT: z.coerce.number().int().min(1).default(10),
  /** How long a source (or trusted caller number) stays refused after passing the limit, in seconds. */
  CODE_GUESS_BAN_SECONDS: z.coerce.number().int().min(1).default(600),
  /** Wrong codes are counted in windows of this many seconds. */
  CODE_GUESS_WINDOW_SECONDS: z.coerce.number().int().min(1).default(600),
  /** Wrong codes on one number dialed, per window, past which each code check there is slowed. */
  CODE_GUESS_DID_LIMIT: z.coerce.number().int().min(1).default(100),
  /** The pause before each code check on a number past CODE_GUESS_DID_LIMIT, in seconds. */
  CODE_GUESS_DID_DELAY_SECONDS: z.coerce.number().min(0).max(30).default(3),
  /** How long a guess-count operation may wait for Redis before this node's memory is used, ms. */
  CODE_GUESS_REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(5000).default(250),
  /**
   * The operator's carriers and SBCs (comma-separated IPs and CIDRs): their calls are
   * told apart by calling number (P-Asserted-Identity, else From) for code guessing,
   * and they are exempt from the per-source INVITE limits (they carry everyone's calls).
   */
  SIP_TRUSTED_SOURCES: z
    .string()
    .default("")
    .refine((v) => {
      try {
        TrustedSources.parse(v);
        return true;
      } catch {
        return false;
      }
    }, "must be comma-separated IP addresses or CIDRs"),
  /** New INVITEs accepted per second from one (untrusted) source address; more get 503 + Retry-After. */
  SIP_INVITES_PER_SOURCE: z.coerce.number().min(0.1).default(10),
  /** INVITEs one source may send at once above SIP_INVITES_PER_SOURCE. */
  SIP_INVITE_BURST: z.coerce.number().int().min(1).default(30),
  /** Unanswered or un-ACKed INVITEs from one source at a time; more get 503 + Retry-After. */
  SIP_PENDING_PER_SOURCE: z.coerce.number().int().min(1).default(20),
  /** Calls (INVITE to BYE) from one source at a time; more get 503 + Retry-After. */
  SIP_CALLS_PER_SOURCE: z.coerce.number().int().min(1).default(200),
  /** Larger SIP datagrams are dropped (513 when the header section can still be read). */
  SIP_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(65535).default(16384),
  /** SIP messages with more header lines are dropped unparsed. */
  SIP_MAX_HEADERS: z.coerce.number().int().min(20).max(1000).default(100),
  /** Payload types one SDP m-line may offer; more: 488 (a WebRTC video line has ~40). */
  SDP_MAX_FORMATS: z.coerce.number().int().min(4).max(128).default(64),
  /** m-lines one SDP may carry; more: 488 (a video phone offers audio, video, content, BFCP). */
  SDP_MAX_MEDIA: z.coerce.number().int().min(1).max(32).default(8),
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
  /** Milliseconds without RTP from a caller at the IVR (access-code prompt) before it is hung up. */
  LOBBY_RTP_TIMEOUT_MS: z.coerce.number().int().min(500).default(5000),
  /** RTP packets in sequence (one source, one SSRC) a stream from elsewhere than the SDP's address needs to latch. */
  RTP_LATCH_PACKETS: z.coerce.number().int().min(2).max(50).default(4),
  /** Milliseconds a routable SDP address is waited for before a stream from elsewhere may latch. */
  RTP_LATCH_SDP_GRACE_MS: z.coerce.number().int().min(0).max(10_000).default(500),
  /** Milliseconds the latched RTP source must be silent before another stream may re-latch (NAT rebinding). */
  RTP_RELATCH_SILENCE_MS: z.coerce.number().int().min(200).default(2000),
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
