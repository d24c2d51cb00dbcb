/**
 * Test support (not exported from the package): adapters to run the contract suite
 * against, each with a random prefix per run whose keys are deleted afterwards.
 */
import { ThreadLink } from "@conf/thread-link";
import { Redis } from "ioredis";
import { createSessionStore, type SessionStore, type SessionStoreOptions } from "../store.ts";
import type { SessionEvent } from "../types.ts";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface Harness {
  /** The store kind the adapter reports. */
  readonly name: "memory" | "redis";
  /** How the suite is titled, when not `name`. */
  readonly label?: string;
  /**
   * A new store client on the backing state of `space` (one per test): clients of the
   * same space see the same meetings, each over its own connections.
   */
  open(space: string, options?: Omit<SessionStoreOptions, "redisUrl" | "redis" | "prefix">): SessionStore;
  /** The prefix of a space (for direct Redis inspection). */
  prefixOf(space: string): string;
  /** Closes every client opened and deletes every key written. */
  cleanup(): Promise<void>;
}

const runId = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export function memoryHarness(): Harness {
  const base = `memtest:${runId()}:`;
  const opened: SessionStore[] = [];
  return {
    name: "memory",
    open(space, options = {}) {
      const s = createSessionStore({ ...options, prefix: `${base}${space}:` });
      opened.push(s);
      return s;
    },
    prefixOf: (space) => `${base}${space}:`,
    async cleanup() {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}

/**
 * The in-process adapter served from a Worker thread (as `bun run start` serves the
 * API thread's state to the mixer): every operation crosses the thread boundary.
 */
export function linkHarness(): Harness {
  const base = `linktest:${runId()}:`;
  const opened: SessionStore[] = [];
  let worker: Worker | null = null;
  let link: ThreadLink | null = null;
  const connect = (): ThreadLink => {
    if (!link) {
      worker = new Worker(new URL("./live-plane-worker.ts", import.meta.url).href);
      link = new ThreadLink(worker);
    }
    return link;
  };
  return {
    name: "memory",
    label: "memory, over a thread link",
    open(space, options = {}) {
      const s = createSessionStore({ ...options, link: connect(), prefix: `${base}${space}:` });
      opened.push(s);
      return s;
    },
    prefixOf: (space) => `${base}${space}:`,
    async cleanup() {
      await Promise.all(opened.map((s) => s.close()));
      link?.close();
      worker?.terminate();
    },
  };
}

/** Deletes every key starting with `prefix` (SCAN is fine here: tests only). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) n += await redis.del(...keys);
  } while (cursor !== "0");
  return n;
}

/** Keys starting with `prefix`. */
export async function listKeys(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return out;
}

export function redisHarness(url = TEST_REDIS_URL): Harness {
  const base = `test:ss:${runId()}:`;
  const opened: SessionStore[] = [];
  return {
    name: "redis",
    open(space, options = {}) {
      const s = createSessionStore({ ...options, redisUrl: url, prefix: `${base}${space}:` });
      opened.push(s);
      return s;
    },
    prefixOf: (space) => `${base}${space}:`,
    async cleanup() {
      await Promise.all(opened.map((s) => s.close()));
      const r = new Redis(url);
      try {
        await deleteKeys(r, base);
      } finally {
        await r.quit();
      }
    },
  };
}

/** Polls `check` until it returns true (every 5 ms, at most `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("waitFor: timed out");
    await Bun.sleep(5);
  }
}

/**
 * Subscribes to a store's events and returns the array they are pushed to, in order
 * (only those `keep` accepts, when given).
 * @example const ended = await collectEvents(watcher, (e) => e.type === "meeting_ended");
 */
export async function collectEvents(store: SessionStore, keep?: (e: SessionEvent) => boolean): Promise<SessionEvent[]> {
  const events: SessionEvent[] = [];
  await store.events.subscribe((e) => {
    if (!keep || keep(e)) events.push(e);
  });
  return events;
}
