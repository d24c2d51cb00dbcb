/**
 * Runs a shell script in a network namespace of its own that holds only a loopback
 * interface: nothing inside reaches any other network, and nothing outside reaches in.
 * For browser tests, whose ICE and background requests would otherwise wander onto the
 * machine's other interfaces. Needs root (CI and the developers' machines run as root).
 */
export async function inLoopbackNamespace(
  script: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["unshare", "--net", "--", "bash", "-euo", "pipefail", "-c", `ip link set lo up\n${script}`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Debian chromium's flags for a headless run that asks nothing of the network by itself. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
].join(" ");

/**
 * A script prefix for `inLoopbackNamespace` that gives the namespace's loopback what
 * MIXER_WORKERS needs (DATABASE_URL and REDIS_URL on 127.0.0.1): 127.0.0.1:5432 reaches
 * the host's PostgreSQL through its Unix socket (a file: network namespaces do not
 * separate those), forwarded by socat; 127.0.0.1:6379 is a private redis-server that
 * keeps nothing on disk. Both are stopped when the script ends.
 */
export function withBacking(script: string, pgSocket = "/var/run/postgresql/.s.PGSQL.5432"): string {
  return [
    `socat TCP-LISTEN:5432,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:${pgSocket} >/dev/null 2>&1 & PG_FWD=$!`,
    `redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --loglevel warning >/dev/null 2>&1 & REDIS=$!`,
    `trap 'kill $PG_FWD $REDIS 2>/dev/null || true' EXIT`,
    // Both listen within a second or two.
    `for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 0.1; done`,
    script,
  ].join("\n");
}
