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
