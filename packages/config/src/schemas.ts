/**
 * The variables, one piece per concern. An app's schema is the pieces it reads, so one
 * variable has one rule wherever it is read (an empty DATABASE_URL is unset for the API
 * and the mixer alike; `mysql://` is refused by both).
 */
import { parseOutboundPolicy } from "@conf/outbound";
import { isIP } from "node:net";
import { z } from "zod";
import { flagVar, intVar, msVar, numVar, optionalIntVar, optionalString, portVar, stringVar, urlVar } from "./vars.ts";

/** The config database. */
export const databaseVars = {
  /** `postgres://` URL of the config database; unset: embedded PGlite. */
  DATABASE_URL: urlVar(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  /** PGlite data directory when DATABASE_URL is unset (default `.data/pglite`). */
  PGLITE_DIR: optionalString,
};

/** The live store and the bus. */
export const redisVars = {
  /** `redis://` URL of the live store and the invalidation bus; unset: in-process. */
  REDIS_URL: urlVar(/^rediss?:\/\//, "must be a redis:// URL"),
  /** Prefix of Redis keys and channels, shared by the API and the mixers (default `conf:`). */
  REDIS_PREFIX: stringVar("conf:"),
  /** A Redis command fails after this many ms without an answer (a request: 503; the mix never waits). Default 1000. */
  REDIS_COMMAND_TIMEOUT_MS: msVar(1000),
  /** A Redis connection attempt gives up after this many ms. Default 2000. */
  REDIS_CONNECT_TIMEOUT_MS: msVar(2000),
};

/** Where tenants may make the service send (recordings, webhooks): `@conf/outbound`. */
export const outboundVars = {
  /** 1: tenants may send to loopback, private, link-local and the service's own addresses (labs, tests). */
  OUTBOUND_ALLOW_PRIVATE: flagVar,
  /** Hosts and CIDRs tenants may send to even when private, comma-separated (e.g. `10.1.10.190,192.168.0.0/16`). */
  OUTBOUND_ALLOWLIST: optionalString.superRefine((v, ctx) => {
    const r = parseOutboundPolicy({ allowlist: v });
    if (!r.ok) ctx.addIssue({ code: "custom", message: r.error });
  }),
};

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Logging. */
export const loggingVars = {
  /** The least severe level written: fatal, error, warn, info, debug, trace or silent. Default info. */
  LOG_LEVEL: stringVar("info")
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` })),
};

/** Live events (SSE) and webhooks: the event log, the streams, the deliveries. */
export const eventsVars = {
  /** Events kept per account for SSE resumption (newest first). Default 10000. */
  EVENT_LOG_MAX_EVENTS: intVar(10_000, 100, 1_000_000),
  /** Events older than this are dropped from the log, ms. Default 3600000 (one hour). */
  EVENT_LOG_RETENTION_MS: intVar(3_600_000, 60_000, 7 * 86_400_000),
  /** Events waiting for the webhook dispatcher at most. Default 10000. */
  EVENT_DISPATCH_BACKLOG: intVar(10_000, 100, 1_000_000),
  /** Open event streams per account at most (429 beyond). Default 10. */
  EVENTS_MAX_STREAMS_PER_ACCOUNT: intVar(10, 1, 10_000),
  /** Open event streams per API process at most (429 beyond). Default 1000. */
  EVENTS_MAX_STREAMS: intVar(1000, 1, 1_000_000),
  /** A keep-alive comment after this long without an event, ms (at most 30 s). Default 15000. */
  EVENTS_KEEPALIVE_MS: intVar(15_000, 100, 30_000),
  /** Webhooks per account at most (422 beyond). Default 20. */
  WEBHOOKS_MAX_PER_ACCOUNT: intVar(20, 1, 1000),
  /** A webhook delivery's whole request (connect, send, answer), ms. Default 10000. */
  WEBHOOK_TIMEOUT_MS: intVar(10_000, 100, 60_000),
  /** First retry after this long, doubling each time, ms. Default 5000. */
  WEBHOOK_RETRY_BASE_MS: intVar(5000, 1, 600_000),
  /** The longest pause between retries, ms. Default 3600000. */
  WEBHOOK_RETRY_MAX_MS: intVar(3_600_000, 1, 86_400_000),
  /** Retries stop this long after the event, ms. Default 86400000 (a day). */
  WEBHOOK_RETRY_FOR_MS: intVar(86_400_000, 1000, 7 * 86_400_000),
  /** Deliveries in flight per API process at most. Default 32. */
  WEBHOOK_CONCURRENCY: intVar(32, 1, 1000),
  /** Deliveries in flight to one webhook per API process at most. Default 4. */
  WEBHOOK_CONCURRENCY_PER_WEBHOOK: intVar(4, 1, 100),
  /** Deliveries waiting (first tries and retries) at most, all webhooks. Default 100000. */
  WEBHOOK_QUEUE_MAX: intVar(100_000, 10, 10_000_000),
  /** Deliveries waiting for one webhook at most (newer ones dropped beyond). Default 1000. */
  WEBHOOK_QUEUE_MAX_PER_WEBHOOK: intVar(1000, 1, 1_000_000),
  /** How often the dispatcher looks for new events and due retries, ms. Default 250. */
  WEBHOOK_POLL_MS: intVar(250, 10, 60_000),
};

/** A port, 0 (any free one) or "off"; 5066 when unset. */
const wsPortVar = stringVar("5066")
  .pipe(z.string().regex(/^(off|\d{1,5})$/i, "must be a port number or off"))
  .transform((v) => (v.toLowerCase() === "off" ? null : Number(v)))
  .pipe(z.number().int().max(65_535, "must be a port number or off").nullable());

/** The HTTP API. */
export const apiVars = {
  /** TCP port of the HTTP API (default 3000). */
  API_PORT: portVar(3000),
  /** Address to bind (default all interfaces). */
  API_HOST: stringVar("0.0.0.0"),
  /** Bearer token of the operator routes; generated and printed when unset. */
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** Origin (and path prefix) of absolute pagination links; from the request when unset. */
  PUBLIC_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** Characters of a `filter` query parameter (default 4000). */
  API_FILTER_MAX_LENGTH: intVar(4000, 1, 1_000_000),
  /** Conditions of one filter (default 50). */
  API_FILTER_MAX_CONDITIONS: intVar(50, 1, 10_000),
  /** Values of one `in`/`notin` list (default 1000). */
  API_FILTER_MAX_LIST_VALUES: intVar(1000, 1, 100_000),
  /** Characters of one like/ilike pattern (default 256). */
  API_FILTER_MAX_PATTERN_LENGTH: intVar(256, 1, 100_000),
  /** Bytes of a request body; larger is a 413 (default 1 MiB). */
  API_MAX_BODY_BYTES: intVar(1_048_576, 1024, 1024 * 1024 * 1024),
  /** Failed Basic logins from one address per window before 429 (default 30). */
  API_LOGIN_FAILURES_PER_ADDRESS: intVar(30, 1, 1_000_000),
  /** Failed Basic logins of one login from one address per window before 429 (default 5). */
  API_LOGIN_FAILURES_PER_LOGIN: intVar(5, 1, 1_000_000),
  /** Length of the failed-login window in seconds (default 300). */
  API_LOGIN_FAILURE_WINDOW_SECONDS: intVar(300, 1, 86_400),
  /** Counters the failed-login limiter keeps at most, oldest dropped first (default 100000). */
  API_LOGIN_LIMITER_MAX_ENTRIES: intVar(100_000, 100, 10_000_000),
  /** 1: the client address is the last hop of X-Forwarded-For (set only behind a proxy that appends it). */
  API_TRUST_PROXY: flagVar,
  /** The mixer's SIP address, which tenants may not send to (the API refuses it as a recording_addr). */
  SIP_HOST: optionalString,
  /** Where the /join page's browser connects for SIP over WebSocket: ws:// on the page's host and this port unless SIP_WS_URL. */
  SIP_WS_PORT: wsPortVar,
  /** The WebSocket URL the /join page connects to (a wss:// terminator in front of the mixer), when not ws://host:SIP_WS_PORT. */
  SIP_WS_URL: optionalString.pipe(z.url({ protocol: /^wss?$/ }).optional()),
};

/**
 * An address or CIDR of SIP_TRUSTED_SOURCES, or why not.
 * @example parseAddressEntry("10.0.0.0/8") // { ok: true, value: { address: "10.0.0.0", prefix: 8, family: 4 } }
 */
export function parseAddressEntry(
  entry: string,
): { ok: true; value: { address: string; prefix: number | undefined; family: 4 | 6 } } | { ok: false; error: string } {
  const [address = "", bits] = entry.split("/");
  const family = isIP(address);
  if (family !== 4 && family !== 6) return { ok: false, error: `not an IP address or CIDR: ${entry}` };
  if (bits === undefined) return { ok: true, value: { address, prefix: undefined, family } };
  const prefix = Number(bits);
  if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return { ok: false, error: `bad prefix length: ${entry}` };
  return { ok: true, value: { address, prefix, family } };
}

/** The mixer node: SIP, RTP, the IVR's guards, the mix. */
export const mixerVars = {
  SIP_PORT: portVar(5060),
  /** TCP port of SIP over WebSocket (RFC 7118) for browsers (the /join page); "off": none; 0: a free one. */
  SIP_WS_PORT: wsPortVar,
  /** WebSocket connections one address may hold at a time; more get 429. */
  SIP_WS_CONNECTIONS_PER_SOURCE: intVar(8, 1, 100_000),
  /** WebSocket connections at a time in all; more get 503. */
  SIP_WS_MAX_CONNECTIONS: intVar(1000, 1, 1_000_000),
  /**
   * Origins (scheme://host[:port], comma-separated) of the pages whose browsers may open
   * SIP over WebSocket: the API's public origin, where /join is served. Empty: any.
   */
  SIP_WS_ORIGINS: optionalString
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((o) => o.trim().replace(/\/+$/, ""))
        .filter((o) => o !== ""),
    )
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, "must be origins such as https://conf.example.com, comma-separated"))),
  /** Largest SIP message one WebSocket frame may carry, bytes; a larger one closes the connection. */
  SIP_WS_MAX_MESSAGE_BYTES: intVar(16384, 1024, 65535),
  /** How long a browser's ICE checks and DTLS handshake may take after the answer before its call is hung up, ms. */
  WEBRTC_HANDSHAKE_TIMEOUT_MS: intVar(10_000, 500, 120_000),
  /** Address SIP and RTP bind to and advertise (default 127.0.0.1). */
  SIP_HOST: stringVar("127.0.0.1"),
  RTP_PORT_MIN: portVar(20000),
  RTP_PORT_MAX: portVar(29999),
  /** Shared RTP sockets to spread calls over (batched sends, for carrier/SBC traffic); 0: one per call. */
  RTP_SHARED_SOCKETS: intVar(0, 0, 256),
  /** 1: shared RTP sockets are read with recvmmsg once per tick and written with sendmmsg (bun:ffi); per-call sockets are unaffected. */
  RTP_BATCH_IO: flagVar,
  /**
   * After Redis restarts empty, how long a caller whose meeting is not in the store yet
   * waits for the mixers to write theirs back before a new meeting is made, ms.
   */
  STORE_RESTORE_GRACE_MS: intVar(3000, 0, 60_000),
  /** Names this node in meeting leases; defaults to host:port. */
  NODE_ID: optionalString,
  /** Where `local` recordings are written. */
  RECORDING_DIR: stringVar(".data/recordings"),
  /**
   * Wrong access codes from one source address (or, through a trusted source, one
   * calling number) per window before it is slowed down (past half), then refused.
   */
  CODE_GUESS_LIMIT: intVar(10, 1),
  /** How long a source (or trusted caller number) stays refused after passing the limit, in seconds. */
  CODE_GUESS_BAN_SECONDS: intVar(600, 1),
  /** Wrong codes are counted in windows of this many seconds. */
  CODE_GUESS_WINDOW_SECONDS: intVar(600, 1),
  /** Wrong codes on one number dialed, per window, past which each code check there is slowed. */
  CODE_GUESS_DID_LIMIT: intVar(100, 1),
  /** The pause before each code check on a number past CODE_GUESS_DID_LIMIT, in seconds. */
  CODE_GUESS_DID_DELAY_SECONDS: numVar(3, 0, 30),
  /** How long a guess-count operation may wait for Redis before this node's memory is used, ms. */
  CODE_GUESS_REDIS_TIMEOUT_MS: intVar(250, 10, 5000),
  /**
   * The operator's carriers and SBCs (comma-separated IPs and CIDRs): their calls are
   * told apart by calling number (P-Asserted-Identity, else From) for code guessing,
   * and they are exempt from the per-source INVITE limits (they carry everyone's calls).
   */
  SIP_TRUSTED_SOURCES: stringVar("").refine(
    (v) => v.split(",").every((e) => e.trim() === "" || parseAddressEntry(e.trim()).ok),
    "must be comma-separated IP addresses or CIDRs",
  ),
  /** New INVITEs accepted per second from one (untrusted) source address; more get 503 + Retry-After. */
  SIP_INVITES_PER_SOURCE: numVar(10, 0.1),
  /** INVITEs one source may send at once above SIP_INVITES_PER_SOURCE. */
  SIP_INVITE_BURST: intVar(30, 1),
  /** Unanswered or un-ACKed INVITEs from one source at a time; more get 503 + Retry-After. */
  SIP_PENDING_PER_SOURCE: intVar(20, 1),
  /** Calls (INVITE to BYE) from one source at a time; more get 503 + Retry-After. */
  SIP_CALLS_PER_SOURCE: intVar(200, 1),
  /** Larger SIP datagrams are dropped (513 when the header section can still be read). */
  SIP_MAX_MESSAGE_BYTES: intVar(16384, 1024, 65535),
  /** SIP messages with more header lines are dropped unparsed. */
  SIP_MAX_HEADERS: intVar(100, 20, 1000),
  /** Payload types one SDP m-line may offer; more: 488 (a WebRTC video line has ~40). */
  SDP_MAX_FORMATS: intVar(64, 4, 128),
  /** m-lines one SDP may carry; more: 488 (a video phone offers audio, video, content, BFCP). */
  SDP_MAX_MEDIA: intVar(8, 1, 32),
  /**
   * Child processes that mix the meetings (one per core is the point); this process
   * answers calls, runs the IVR and hands admitted callers over. 0: mix here.
   * Needs DATABASE_URL and REDIS_URL.
   */
  MIXER_WORKERS: intVar(0, 0, 64),
  /**
   * Calls one worker mixes before a meeting it owns spills over: new callers of that
   * meeting are mixed on another worker linked to the owner by a trunk (cascade). 0:
   * unlimited (a meeting stays on one worker).
   */
  MIXER_WORKER_CAPACITY: intVar(0, 0, 100_000),
  /** Set by the front for its workers: a worker exits when its parent is gone. */
  MIXER_PARENT_PID: optionalIntVar(1),
  /**
   * Failover: how long a mixer node that this node handed calls to may go unheard on its
   * control channel before it counts as dead and those calls move to a live node, ms. (A
   * worker process's exit is seen at once.)
   */
  MIXER_FAILOVER_SILENT_MS: intVar(3000, 1000, 60_000),
  /** Sub-ticks each 20 ms frame's packets are spread over, so sending never holds the event loop long. */
  MIXER_SEND_PHASES: intVar(1, 1, 10),
  /** Log how late the 20 ms ticks run (p50/p99/p99.9/max) every this many seconds; 0: never. */
  MIXER_STATS_SECONDS: numVar(0, 0),
  /** Seconds without RTP from a joined caller before it is hung up. */
  RTP_TIMEOUT_SECONDS: numVar(30, 1),
  /** Milliseconds without RTP from a caller at the IVR (access-code prompt) before it is hung up. */
  LOBBY_RTP_TIMEOUT_MS: intVar(5000, 500),
  /** Longest pause between the keys of one keypad command (`*` then `6`), ms. */
  KEYPAD_INTERDIGIT_MS: intVar(3000, 500, 30_000),
  /** Port of this node's own GET /metrics (bearer ADMIN_TOKEN); unset: none (under `bun run start` the API serves them). */
  MIXER_METRICS_PORT: optionalIntVar(1, 65535),
  /** Address MIXER_METRICS_PORT listens on. */
  MIXER_METRICS_HOST: stringVar("127.0.0.1"),
  /** The operator's bearer token, which a scrape of MIXER_METRICS_PORT must carry. */
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** RTP packets in sequence (one source, one SSRC) a stream from elsewhere than the SDP's address needs to latch. */
  RTP_LATCH_PACKETS: intVar(4, 2, 50),
  /** Milliseconds a routable SDP address is waited for before a stream from elsewhere may latch. */
  RTP_LATCH_SDP_GRACE_MS: intVar(500, 0, 10_000),
  /** Milliseconds the latched RTP source must be silent before another stream may re-latch (NAT rebinding). */
  RTP_RELATCH_SILENCE_MS: intVar(2000, 200),
};
