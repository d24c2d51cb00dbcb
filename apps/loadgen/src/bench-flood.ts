/**
 * `--api-flood N`: the worst `like` filters sent to /calls from a second process while a
 * media window is measured.
 */
import { type ApiClient, basicAuth, type Provisioned } from "./api-client.ts";
import { env, num, opts, pinned } from "./bench-cli.ts";
import type { Target } from "./bench-target.ts";
import { type HttpLoadResult, runHttpLoadProcess } from "./http-load.ts";
import { randomToken } from "./random.ts";

/** Calls renamed to 255 "a" before a flood (BENCH_API_FLOOD_RENAMES): the names the worst `like` patterns backtrack over. */
const FLOOD_RENAMES = Math.max(0, Math.floor(num(env.BENCH_API_FLOOD_RENAMES, 5)));
const FLOOD_NAME = "a".repeat(255);
/** Replaced by each request's number in the flood's URLs (unreserved characters: it survives URL encoding). */
const FLOOD_TOKEN = "__N__";
/**
 * The flood's filters: `like` patterns that a backtracking matcher takes exponential or
 * high-polynomial time over with a long run of "a" (the issue's 8.9 s request is the
 * first), in both operators and with `_`, and one whose many conditions all hold until
 * the last, so that each is evaluated. Each request adds `and name ne "<unique>"` so that
 * no read cache can answer it.
 */
const FLOOD_FILTERS = [
  'name like "%a%a%a%a%b"',
  'name like "%a%a%a%a%a%a%a%b"',
  'name ilike "%A%A%A%A%A%A%B"',
  'name like "_%_%_%_%_%_%_%_%b"',
  `name like "${"%a".repeat(40)}%b"`,
  'name like "%a%a%a" and name like "%a%a%a%a%a" and name ilike "%a%a%a%a%a%a" and name like "%a%a%a%a%a%a%a%c"',
];

export interface FloodFigures {
  concurrency: number;
  /** PATCH statuses of the renames (0: no answer). */
  renames: number[];
  filters: string[];
  /** CPUs of the flood's process, or null when not pinned. */
  cpus: string | null;
  result: HttpLoadResult | null;
  /** Why the flood could not run or failed, if it did. */
  error?: string;
}

/** Rename a few live calls of `p` to 255 "a" over its API, then flood /calls with the worst filters from a second process. */
export async function runFlood(t: Target, api: ApiClient, p: Provisioned, durationS: number): Promise<FloodFigures> {
  const cpus = pinned ? (opts.apiFloodCpus ?? opts.genCpus) : null;
  const fig: FloodFigures = { concurrency: opts.apiFlood, renames: [], filters: FLOOD_FILTERS, cpus, result: null };
  const t0 = performance.now();
  try {
    const calls = (await api.listCalls(p)).filter((c) => c.meeting_sid);
    for (const c of calls.slice(0, FLOOD_RENAMES)) fig.renames.push(await api.updateCall(p, c.call_sid, { name: FLOOD_NAME }));
  } catch (e) {
    fig.error = `renaming: ${String(e)}`;
  }
  const tag = randomToken(3);
  const urls = FLOOD_FILTERS.map(
    (f) => `${t.apiUrl}/conference/v2/calls?filter=${encodeURIComponent(`${f} and name ne "flood-${tag}-${FLOOD_TOKEN}"`)}`,
  );
  const left = durationS - (performance.now() - t0) / 1000;
  try {
    fig.result = await runHttpLoadProcess({
      url: urls[0]!,
      moreUrls: urls.slice(1),
      uniqueToken: FLOOD_TOKEN,
      abortAtEnd: true,
      headers: { authorization: basicAuth(p.login, p.password) },
      durationS: Math.max(1, left),
      concurrency: opts.apiFlood,
      core: cpus,
      // Beside the generator, below it: the flood takes only what the generator leaves
      // (SCHED_IDLE; nice 10 without chrt), as an attacker's own machine would not slow
      // the callers' phones.
      idle: true,
      nice: 10,
    });
  } catch (e) {
    fig.error = `${fig.error ? `${fig.error}; ` : ""}flood: ${String(e)}`;
  }
  return fig;
}
