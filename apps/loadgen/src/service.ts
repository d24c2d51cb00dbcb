/**
 * Start the service under test as a child process (optionally pinned to a core), wait
 * until its API answers HTTP and its SIP port answers OPTIONS, and stop it afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseMessage, serializeRequest } from "@conf/sip";
import { randomToken } from "./random.ts";

/** Find a free port (TCP or UDP) by binding port 0. */
export async function freePort(kind: "tcp" | "udp"): Promise<number> {
  if (kind === "udp") {
    const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const p = s.port;
    s.close();
    return p;
  }
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = server.port;
  server.stop(true);
  return p;
}

/** Whether something answers SIP OPTIONS at host:port within `timeoutMs`. */
export async function sipAlive(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  let answered = false;
  const s = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, d) {
        const m = parseMessage(new Uint8Array(d));
        if (m.ok && m.value.kind === "response") answered = true;
      },
      // ICMP port unreachable while the service is still starting: keep probing.
      error() {},
    },
  });
  const req = serializeRequest("OPTIONS", `sip:${host}:${port}`, [
    ["Via", `SIP/2.0/UDP 127.0.0.1:${s.port};branch=z9hG4bK${randomToken(6)};rport`],
    ["Max-Forwards", "70"],
    ["From", `<sip:bench@127.0.0.1>;tag=${randomToken(4)}`],
    ["To", `<sip:${host}:${port}>`],
    ["Call-ID", `${randomToken(8)}@bench`],
    ["CSeq", "1 OPTIONS"],
  ]);
  const end = performance.now() + timeoutMs;
  let next = 0;
  while (!answered && performance.now() < end) {
    if (performance.now() >= next) {
      s.send(req, port, host);
      next = performance.now() + 200;
    }
    await Bun.sleep(20);
  }
  s.close();
  return answered;
}

export interface ServiceProcess {
  pid: number;
  logPath: string;
  exited: () => number | null;
  stop: () => Promise<void>;
}

/** Whether `taskset` exists and the machine has at least two cores to split. */
export function canPin(): boolean {
  // os.cpus() counts the machine's CPUs whatever this process's affinity is.
  return cpus().length >= 2 && ["/usr/bin/taskset", "/bin/taskset"].some((p) => existsSync(p));
}

/**
 * Spawn `command` (a shell command line) in `cwd` with `env`, pinned to `core` when given.
 * Output goes to a log file. The child runs in its own process group so stop() ends
 * exactly it and its children.
 */
export function startService(opts: {
  command: string;
  cwd: string;
  env: Record<string, string>;
  /** taskset CPU list (e.g. "0" or "0,1"), or null for no pinning. */
  core: string | null;
  logDir: string;
}): ServiceProcess {
  mkdirSync(opts.logDir, { recursive: true });
  const logPath = join(opts.logDir, `service-${Date.now()}.log`);
  const log = createWriteStream(logPath);
  const line = opts.core === null ? `exec ${opts.command}` : `exec taskset -c ${opts.core} ${opts.command}`;
  const child: ChildProcess = spawn("sh", ["-c", line], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let code: number | null = null;
  child.on("exit", (c, sig) => {
    code = c ?? (sig ? 128 : 0);
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    logPath,
    exited: () => code,
    stop: async () => {
      if (code !== null || pid <= 0) return;
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        return;
      }
      for (let i = 0; i < 50 && code === null; i++) await Bun.sleep(100);
      if (code === null) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

/** Wait until `check` is true, the process exits, or the timeout passes. */
export async function waitReady(
  check: () => Promise<boolean>,
  svc: ServiceProcess | null,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (svc && svc.exited() !== null) return { ok: false, reason: `service exited with ${svc.exited()} (log: ${svc.logPath})` };
    if (await check()) return { ok: true };
    await Bun.sleep(250);
  }
  return { ok: false, reason: `not ready after ${timeoutMs} ms${svc ? ` (log: ${svc.logPath})` : ""}` };
}
