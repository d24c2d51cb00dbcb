/**
 * What every bench scenario does around its calls: provision a meeting room over the API,
 * number the callers, build their specs, and ask the API what it sees of them.
 */
import { type ApiClient, numberOf, type Provisioned } from "./api-client.ts";
import { log, opts } from "./bench-cli.ts";
import type { CallSpec } from "./generator-types.ts";
import { randomToken } from "./random.ts";
import type { JoinTimes } from "./report.ts";

const runTag = String(Math.floor(Math.random() * 9000) + 1000);
let callSeq = 0;
/** A distinct caller number per call across the whole run. */
const nextNumber = () => `2${runTag}${String(callSeq++).padStart(6, "0")}`;
/** The next call's index and caller number (see nextNumber). */
export function nextCaller(): { index: number; fromUser: string } {
  const index = callSeq;
  return { index, fromUser: nextNumber() };
}
const code6 = () => String(Math.floor(Math.random() * 900000) + 100000);

export async function provision(api: ApiClient | null, name: string): Promise<Provisioned | null> {
  if (!api) return null;
  const codes = { host: code6(), participant: code6(), listener: code6() };
  while (new Set(Object.values(codes)).size < 3) codes.listener = code6();
  const phonenumber = `1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  return api.provision({ name: `${name}-${runTag}-${randomToken(2)}`, phonenumber, codes });
}

/** Poll the API's live calls, recording when each of our numbers was first seen joined. */
export function joinWatcher(api: ApiClient | null, p: Provisioned | null, intervalMs: number) {
  const joins: JoinTimes = new Map();
  let stopped = false;
  let errors = 0;
  let lastCount = 0;
  let lastError = "";
  const loop = (async () => {
    if (!api || !p) return;
    while (!stopped) {
      const t0 = Date.now();
      try {
        const calls = await api.listCalls(p);
        lastCount = calls.length;
        for (const c of calls) {
          if (!c.meeting_sid) continue;
          const n = numberOf(c.number_src);
          if (joins.has(n)) continue;
          const dj = c.date_joined ? Date.parse(c.date_joined) : NaN;
          joins.set(n, Number.isFinite(dj) ? dj : t0);
        }
      } catch (e) {
        errors++;
        lastError = String(e);
      }
      await Bun.sleep(Math.max(0, intervalMs - (Date.now() - t0)));
    }
  })();
  return {
    joins,
    get errors() {
      return errors;
    },
    get lastError() {
      return lastError;
    },
    get lastCount() {
      return lastCount;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export async function apiCounts(
  api: ApiClient | null,
  p: Provisioned | null,
): Promise<{ calls: number; attendees: number; meetings: number } | null> {
  if (!api || !p) return null;
  try {
    const [calls, meetings] = await Promise.all([api.listCalls(p), api.listMeetings(p)]);
    const attendees = meetings.reduce(
      (a, m) => a + (m.attendees ? m.attendees.hosts + m.attendees.participants + m.attendees.listeners : 0),
      0,
    );
    return { calls: calls.length, attendees, meetings: meetings.length };
  } catch (e) {
    log(`API count failed: ${String(e)}`);
    return null;
  }
}

export type Counts = { calls: number; attendees: number; meetings: number };

/** Sum per-account counts (each meeting room is its own account); null if any is unknown. */
export function sumCounts(list: (Counts | null)[]): Counts | null {
  if (list.length === 0 || list.some((c) => c === null)) return null;
  return list.reduce<Counts>(
    (a, c) => ({ calls: a.calls + c!.calls, attendees: a.attendees + c!.attendees, meetings: a.meetings + c!.meetings }),
    { calls: 0, attendees: 0, meetings: 0 },
  );
}

export async function waitApiEmpty(api: ApiClient | null, p: Provisioned | null, timeoutMs: number) {
  let last = await apiCounts(api, p);
  const end = performance.now() + timeoutMs;
  while (last && (last.calls > 0 || last.meetings > 0) && performance.now() < end) {
    await Bun.sleep(500);
    last = await apiCounts(api, p);
  }
  return last;
}

export function buildSpecs(
  p: Provisioned | null,
  count: number,
  talkers: number,
  listeners: number,
  phonenumber: string,
): CallSpec[] {
  const specs: CallSpec[] = [];
  for (let i = 0; i < count; i++) {
    const talker = i < talkers;
    const listener = !talker && i >= count - listeners;
    const role = i === 0 ? "host" : listener ? "listener" : "participant";
    const code = p ? p.codes[role] : "1234";
    specs.push({
      ...nextCaller(),
      toUser: phonenumber,
      digits: `${code}#`,
      role,
      send: talker ? "voice" : listener ? opts.listenerSend : "silence",
      talker: i,
    });
  }
  return specs;
}
