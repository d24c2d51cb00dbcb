/**
 * Starting a mixer node: open (or take) the config database, the live store and the
 * bus, build the access router over them, load the prompts, and listen for SIP.
 */
import { createAccessRouter, invalidationChannel, parseInvalidation } from "@conf/access-router";
import { createConfigReader, type Database, openDatabase } from "@conf/db";
import { type Bus, createBus, createSessionStore, type SessionStore } from "@conf/session-store";
import type { MixerEnv } from "./env.ts";
import { loadPrompts } from "./media/index.ts";
import { MixerNode } from "./node.ts";
import { splitPortRange, startWorkers, type WorkerProcesses, workersUnsupported } from "./workers.ts";

export interface StartMixerOptions {
  readonly env: MixerEnv;
  /** An open database to use (not closed by `close()`); default: opened from the environment. */
  readonly database?: Database;
  /** A bus to use (not closed by `close()`); default: created from REDIS_URL. */
  readonly bus?: Bus;
  /** A live store to use (not closed by `close()`); default: created from REDIS_URL. */
  readonly sessionStore?: SessionStore;
  readonly log?: (line: string) => void;
}

export interface RunningMixer {
  readonly node: MixerNode;
  readonly sipPort: number;
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
  const database = options.database ?? (await openDatabase({ url: env.DATABASE_URL }));
  if (!options.database) owned.push(() => database.close());
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
    config: createConfigReader(database),
    subscribe: (handler) => bus.subscribe(invalidationChannel, (m: unknown) => handler(parseInvalidation(m))),
  });
  await router.ready;
  const unsupported = workersUnsupported(env);
  if (unsupported) throw new Error(`mixer: ${unsupported}`);
  const nodeId = env.NODE_ID ?? `mixer-${env.SIP_HOST}:${env.SIP_PORT}-${process.pid}`;
  const log = options.log ?? ((l: string) => console.log(`mixer: ${l}`));
  let rtp = { min: env.RTP_PORT_MIN, max: env.RTP_PORT_MAX };
  let workers: WorkerProcesses | null = null;
  if (env.MIXER_WORKERS > 0) {
    const [front, ...rest] = splitPortRange(env.RTP_PORT_MIN, env.RTP_PORT_MAX, env.MIXER_WORKERS + 1);
    rtp = front as { min: number; max: number };
    workers = await startWorkers({ env, frontNodeId: nodeId, ports: rest, log });
    owned.push(() => (workers as WorkerProcesses).close());
    log(`${env.MIXER_WORKERS} worker processes mix the meetings: ${workers.nodeIds().join(", ")}`);
  }
  const node = new MixerNode({
    router,
    store,
    prompts: prompts.library,
    nodeId,
    sipHost: env.SIP_HOST,
    sipPort: env.SIP_PORT,
    rtpPortMin: rtp.min,
    rtpPortMax: rtp.max,
    placement: workers ? () => (workers as WorkerProcesses).nodeIds() : undefined,
    rtpSharedSockets: env.RTP_SHARED_SOCKETS,
    codeGuessLimit: env.CODE_GUESS_LIMIT,
    codeGuessBanSeconds: env.CODE_GUESS_BAN_SECONDS,
    rtpTimeoutSeconds: env.RTP_TIMEOUT_SECONDS,
    recordingDir: env.RECORDING_DIR,
    statsSeconds: env.MIXER_STATS_SECONDS,
    sendPhases: env.MIXER_SEND_PHASES,
    log,
  });
  await node.start();
  let closing: Promise<void> | undefined;
  return {
    node,
    sipPort: node.sipPort,
    close() {
      closing ??= (async () => {
        await node.stop();
        router.close();
        for (const close of owned.reverse()) await close().catch((e) => console.error("mixer: close failed", e));
      })();
      return closing;
    },
  };
}
