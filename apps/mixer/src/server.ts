/**
 * Starting a mixer node: open (or take) the config database, the live store and the
 * bus, build the access router over them, load the prompts, and listen for SIP.
 */
import { outboundPolicy } from "@conf/config";
import { createLogger, type Log, lineLog } from "@conf/log";
import { createAccessRouter, invalidationChannel, parseInvalidation } from "@conf/access-router";
import { type ConfigReader, createConfigReader, type Database, openDatabase } from "@conf/db";
import { type Bus, createBus, createSessionStore, type SessionStore } from "@conf/session-store";
import type { Registry } from "prom-client";
import type { MixerEnv } from "./env.ts";
import { RedisGuessStore, TrustedSources } from "./guess-limiter.ts";
import { loadPrompts } from "@conf/media";
import { publishNodeEvents } from "./event-publisher.ts";
import { createMixerMetrics, serveMetrics } from "./metrics.ts";
import { MixerNode } from "./node.ts";
import { splitPortRange, startWorkers, type WorkerProcesses, workersUnsupported } from "./workers.ts";

export interface StartMixerOptions {
  readonly env: MixerEnv;
  /** An open database to use (not closed by `close()`); default: opened from the environment. */
  readonly database?: Database;
  /**
   * Where config lookups go instead of a database of the mixer's own (e.g. a database
   * another thread owns); `database` is then not opened.
   */
  readonly config?: ConfigReader;
  /** A bus to use (not closed by `close()`); default: created from REDIS_URL. */
  readonly bus?: Bus;
  /** A live store to use (not closed by `close()`); default: created from REDIS_URL. */
  readonly sessionStore?: SessionStore;
  /** Where the node logs (a Log, or a line callback); default the `mixer` module's logger. */
  readonly log?: Log | ((line: string) => void);
}

export interface RunningMixer {
  readonly node: MixerNode;
  readonly sipPort: number;
  /** Port of SIP over WebSocket (browsers), or null when off. */
  readonly sipWsPort: number | null;
  /** This node's metrics (Prometheus text: `await metrics.metrics()`). */
  readonly metrics: Registry;
  /** Port of this node's GET /metrics (MIXER_METRICS_PORT), or null when it serves none. */
  readonly metricsPort: number | null;
  /** Hangs up every call, stops, and closes what `startMixer` opened. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a mixer node.
 * @example const mixer = await startMixer({ env: readMixerEnv() });
 */
export async function startMixer(options: StartMixerOptions): Promise<RunningMixer> {
  const { env } = options;
  const owned: (() => Promise<unknown>)[] = [];
  let config = options.config;
  if (!config) {
    const database = options.database ?? (await openDatabase({ url: env.DATABASE_URL }));
    if (!options.database) owned.push(() => database.close());
    config = createConfigReader(database);
  }
  const timeouts = { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS };
  const bus = options.bus ?? createBus({ redisUrl: env.REDIS_URL, prefix: env.REDIS_PREFIX, timeouts });
  if (!options.bus) owned.push(() => bus.close());
  const store =
    options.sessionStore ??
    createSessionStore({
      redisUrl: env.REDIS_URL,
      prefix: env.REDIS_PREFIX,
      timeouts,
      restoreGraceMs: env.STORE_RESTORE_GRACE_MS,
    });
  if (!options.sessionStore) owned.push(() => store.close());

  const prompts = loadPrompts();
  if (!prompts.ok) throw new Error(`mixer: cannot load prompts: ${prompts.error}`);
  const router = createAccessRouter({
    config,
    subscribe: (handler) => bus.subscribe(invalidationChannel, (m: unknown) => handler(parseInvalidation(m))),
  });
  await router.ready;
  const unsupported = workersUnsupported(env);
  if (unsupported) throw new Error(`mixer: ${unsupported}`);
  const nodeId = env.NODE_ID ?? `mixer-${env.SIP_HOST}:${env.SIP_PORT}-${process.pid}`;
  const log = typeof options.log === "function" ? lineLog(options.log) : (options.log ?? createLogger("mixer"));
  let rtp = { min: env.RTP_PORT_MIN, max: env.RTP_PORT_MAX };
  let workers: WorkerProcesses | null = null;
  // Set once the node exists; a worker that dies before then has no calls to move.
  let workerExited: (id: string) => void = () => {};
  if (env.MIXER_WORKERS > 0) {
    const [front, ...rest] = splitPortRange(env.RTP_PORT_MIN, env.RTP_PORT_MAX, env.MIXER_WORKERS + 1);
    rtp = front as { min: number; max: number };
    workers = await startWorkers({ env, frontNodeId: nodeId, ports: rest, log, onExit: (id) => workerExited(id) });
    owned.push(() => (workers as WorkerProcesses).close());
    log.info(`${env.MIXER_WORKERS} worker processes mix the meetings: ${workers.nodeIds().join(", ")}`);
  }
  const node = new MixerNode({
    router,
    store,
    prompts: prompts.library,
    nodeId,
    sipHost: env.SIP_HOST,
    sipPort: env.SIP_PORT,
    // A worker mixes what the front hands it; browsers reach the front only.
    sipWsPort: env.SIP_WS_PORT,
    sipWsLimits: {
      connectionsPerSource: env.SIP_WS_CONNECTIONS_PER_SOURCE,
      maxConnections: env.SIP_WS_MAX_CONNECTIONS,
      maxMessageBytes: env.SIP_WS_MAX_MESSAGE_BYTES,
      origins: env.SIP_WS_ORIGINS,
    },
    webrtcHandshakeTimeoutMs: env.WEBRTC_HANDSHAKE_TIMEOUT_MS,
    rtpPortMin: rtp.min,
    rtpPortMax: rtp.max,
    placement: workers ? () => (workers as WorkerProcesses).nodeIds() : undefined,
    workerCapacity: env.MIXER_WORKER_CAPACITY,
    rtpSharedSockets: env.RTP_SHARED_SOCKETS,
    rtpBatchIo: env.RTP_BATCH_IO,
    codeGuessLimit: env.CODE_GUESS_LIMIT,
    codeGuessBanSeconds: env.CODE_GUESS_BAN_SECONDS,
    codeGuessWindowSeconds: env.CODE_GUESS_WINDOW_SECONDS,
    codeGuessDidLimit: env.CODE_GUESS_DID_LIMIT,
    codeGuessDidDelaySeconds: env.CODE_GUESS_DID_DELAY_SECONDS,
    // Every node counts the same guesses; closed by the node's stop().
    guessStore: env.REDIS_URL ? new RedisGuessStore(env.REDIS_URL, env.REDIS_PREFIX, env.CODE_GUESS_REDIS_TIMEOUT_MS) : null,
    trustedSources: TrustedSources.parse(env.SIP_TRUSTED_SOURCES),
    sourceLimits: {
      invitesPerSecond: env.SIP_INVITES_PER_SOURCE,
      burst: env.SIP_INVITE_BURST,
      pendingPerSource: env.SIP_PENDING_PER_SOURCE,
      callsPerSource: env.SIP_CALLS_PER_SOURCE,
    },
    messageLimits: {
      maxMessageBytes: env.SIP_MAX_MESSAGE_BYTES,
      maxHeaders: env.SIP_MAX_HEADERS,
      sdpMaxFormats: env.SDP_MAX_FORMATS,
      sdpMaxMedia: env.SDP_MAX_MEDIA,
    },
    rtpTimeoutSeconds: env.RTP_TIMEOUT_SECONDS,
    lobbyRtpTimeoutMs: env.LOBBY_RTP_TIMEOUT_MS,
    keypadInterdigitMs: env.KEYPAD_INTERDIGIT_MS,
    rtpLatch: {
      packets: env.RTP_LATCH_PACKETS,
      sdpGraceMs: env.RTP_LATCH_SDP_GRACE_MS,
      relatchSilenceMs: env.RTP_RELATCH_SILENCE_MS,
    },
    recordingDir: env.RECORDING_DIR,
    outbound: outboundPolicy(env),
    statsSeconds: env.MIXER_STATS_SECONDS,
    sendPhases: env.MIXER_SEND_PHASES,
    failoverSilentMs: env.MIXER_FAILOVER_SILENT_MS,
    log,
  });
  workerExited = (id) => node.nodeDied(id);
  await node.start();
  const stopTalkerEvents = publishNodeEvents(node.events, node.meetings, node.calls, store, (e) =>
    log.warn({}, `event log: ${String(e)}`),
  );
  const metrics = createMixerMetrics(node);
  let metricsPort: number | null = null;
  if (env.MIXER_METRICS_PORT !== undefined) {
    if (!env.ADMIN_TOKEN) throw new Error("mixer: MIXER_METRICS_PORT needs ADMIN_TOKEN");
    const server = serveMetrics({
      registry: metrics,
      token: env.ADMIN_TOKEN,
      host: env.MIXER_METRICS_HOST,
      port: env.MIXER_METRICS_PORT,
    });
    owned.push(() => server.close());
    metricsPort = server.port;
    log.info({}, `metrics on http://${env.MIXER_METRICS_HOST}:${metricsPort}/metrics`);
  }
  let closing: Promise<void> | undefined;
  return {
    node,
    sipPort: node.sipPort,
    sipWsPort: node.sipWsPort,
    metrics,
    metricsPort,
    close() {
      closing ??= (async () => {
        stopTalkerEvents();
        await node.stop();
        router.close();
        for (const close of owned.reverse()) await close().catch((e) => log.error({ err: String(e) }, "close failed"));
      })();
      return closing;
    },
  };
}
