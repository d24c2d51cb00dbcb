/**
 * Test helpers for the Prometheus text the API and the mixer serve (`@conf/log/testing`):
 * the one checker the tests of both apps and the end-to-end tests use.
 */

/**
 * Runs `promtool check metrics` on the text; its complaints, or "" when it accepts it.
 * @example
 * expect(await promtoolCheck(await res.text())).toBe("");
 */
export async function promtoolCheck(text: string): Promise<string> {
  const p = Bun.spawn(["promtool", "check", "metrics"], {
    stdin: new TextEncoder().encode(text),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return code === 0 ? "" : `exit ${code}: ${out}${err}`;
}

/**
 * The value of one sample line (`name{labels} value`), or undefined when absent.
 * @example
 * sample(text, 'conference_calls{node="a"}') // 2
 */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}
