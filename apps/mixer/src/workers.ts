/**
 * Mixer worker processes. With MIXER_WORKERS=N the mixer node that `bun run start` or
 * `bun run start:mixer` starts becomes the SIP front: it answers calls and runs their
 * IVR, and places each new meeting on one of N child processes, handing every admitted
 * caller over to the meeting's process (handover.ts). One process per core, so the
 * packets of different meetings are carried by different cores. The children are
 * ordinary mixer nodes on their own SIP port and slice of the RTP range; they share the
 * front's PostgreSQL and Redis, which is why workers need DATABASE_URL and REDIS_URL.
 */
import type { Log } from "@conf/log";
import { join } from "node:path";

export interface WorkerProcesses {
  /** Node ids of the workers that are running, for placement. */
  nodeIds(): readonly string[];
  /** Stops every worker (SIGTERM, then SIGKILL after a grace period). */
  close(): Promise<void>;
}

/** The RTP range split into `parts` slices; slice 0 is the front's. */
export function splitPortRange(min: number, max: number, parts: number): { min: number; max: number }[] {
  const size = Math.floor((max - min + 1) / parts);
  if (size < 2) throw new Error(`RTP_PORT_MIN-RTP_PORT_MAX is too small for ${parts} processes`);
  return Array.from({ length: parts }, (_, i) => ({
    min: min + i * size,
    max: i === parts - 1 ? max : min + (i + 1) * size - 1,
  }));
}

// The rule lives with the configuration, which checks it at start-up.
export { type WorkerEnv, workersUnsupported } from "@conf/config";
import type { WorkerEnv } from "@conf/config";

/**
 * A worker's output line, passed on as the front's own: its records keep their level and
 * fields and gain `worker` (its node id); anything else is named by the id.
 */
function forward(id: string, line: string, log: Log): void {
  if (line.startsWith("{")) {
    try {
      const { level, time, pid, hostname, module, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
      const n = typeof level === "number" ? level : 30;
      (n >= 50 ? log.error : n >= 40 ? log.warn : log.info).call(
        log,
        { ...fields, worker: id },
        typeof msg === "string" ? msg : "",
      );
      return;
    } catch {
      // Not a record after all: passed on as text below.
    }
  }
  console.log(line.replace(/^mixer: /, `mixer ${id}: `));
}

/**
 * Spawns the workers and resolves once each listens for SIP. Their output is passed on
 * line by line, each line named by the worker's node id.
 */
export async function startWorkers(options: {
  env: WorkerEnv;
  frontNodeId: string;
  ports: readonly { min: number; max: number }[];
  log: Log;
  readyTimeoutMs?: number;
  /** A worker exited while the front runs (not at `close()`): its calls move elsewhere (failover.ts). */
  onExit?: (nodeId: string) => void;
}): Promise<WorkerProcesses> {
  const { env, frontNodeId, ports, log } = options;
  const main = join(import.meta.dir, "main.ts");
  const live = new Set<string>();
  const children: { id: string; proc: Bun.Subprocess<"ignore", "pipe", "inherit"> }[] = [];
  let closing = false;

  const ready = ports.map(async (range, i) => {
    const id = `${frontNodeId}-w${i + 1}`;
    const proc = Bun.spawn([process.execPath, main], {
      env: {
        ...process.env,
        MIXER_WORKERS: "0",
        // Bun's once-a-second GC timer makes a collection every second in a process
        // whose only garbage is the datagrams Bun allocates; JSC's own allocation
        // trigger is enough (apps/mixer/scripts/heap-probe.ts counts them).
        BUN_GC_TIMER_DISABLE: process.env.BUN_GC_TIMER_DISABLE ?? "1",
        MIXER_PARENT_PID: String(process.pid),
        NODE_ID: id,
        SIP_PORT: "0",
        SIP_WS_PORT: "off",
        // Each worker serves its own metrics, on the ports after the front's.
        MIXER_METRICS_PORT: env.MIXER_METRICS_PORT
          ? String(env.MIXER_METRICS_PORT + i + 1)
          : env.MIXER_METRICS_PORT === 0
            ? "0"
            : "",
        RTP_PORT_MIN: String(range.min),
        RTP_PORT_MAX: String(range.max),
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit",
    });
    children.push({ id, proc });
    void proc.exited.then((code) => {
      live.delete(id);
      if (closing) return;
      log.error(`worker ${id} exited with ${code}; its calls move to a live worker, new meetings go elsewhere`);
      options.onExit?.(id);
    });
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${id} did not start within ${timeoutMs} ms`)), timeoutMs);
      void (async () => {
        let pending = "";
        const decoder = new TextDecoder();
        for await (const chunk of proc.stdout) {
          pending += decoder.decode(chunk, { stream: true });
          let nl = pending.indexOf("\n");
          while (nl >= 0) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            // The node logs its SIP address once it is subscribed to its control channel.
            if (line.includes("SIP on udp") && !live.has(id)) {
              live.add(id);
              clearTimeout(timer);
              resolve();
            }
            forward(id, line, log);
            nl = pending.indexOf("\n");
          }
        }
        clearTimeout(timer);
        reject(new Error(`worker ${id} exited before it started`));
      })();
    });
  });

  const close = async () => {
    closing = true;
    for (const c of children) c.proc.kill("SIGTERM");
    await Promise.all(
      children.map(async (c) => {
        const killer = setTimeout(() => c.proc.kill("SIGKILL"), 5000);
        await c.proc.exited;
        clearTimeout(killer);
      }),
    );
  };
  try {
    await Promise.all(ready);
  } catch (err) {
    await close();
    throw err;
  }
  return { nodeIds: () => [...live], close };
}
