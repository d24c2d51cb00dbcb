import { describe, expect, test } from "bun:test";
import { invalidationChannel } from "@conf/access-router";
import type { SubscriptionHealth } from "@conf/session-store";
import { connectReadCache, createReadCache, durationValidUntil, type ReadScope } from "./read-cache.ts";

const URL_A = "http://api.test/conference/v2/meeting_rooms?limit=10";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A cache serving both scopes, and a helper that reads through it. */
function serving(options: Parameters<typeof createReadCache>[0] = {}) {
  const cache = createReadCache(options);
  cache.setServing("config", true);
  cache.setServing("live", true);
  const fill = (account: string, scope: ReadScope, url: string, body: string, validUntil?: number) => {
    const t = cache.ticket(account, scope, url);
    if (!t) throw new Error("not serving");
    cache.put(t, body, validUntil);
  };
  return { cache, fill };
}

describe("createReadCache", () => {
  test("keeps a body per account and URL; another account or URL misses", () => {
    const { cache, fill } = serving();
    fill("a1", "config", URL_A, '{"a":1}');
    expect(cache.get("a1", "config", URL_A)).toBe('{"a":1}');
    expect(cache.get("b2", "config", URL_A)).toBeUndefined();
    expect(cache.get("a1", "config", `${URL_A}&offset=0`)).toBeUndefined();
    expect(cache.stats).toEqual({ hits: 1, misses: 2 });
  });

  test("serves nothing before setServing, and keeps nothing read meanwhile", () => {
    const cache = createReadCache();
    expect(cache.ticket("a1", "config", URL_A)).toBeNull();
    cache.setServing("config", true);
    const t = cache.ticket("a1", "config", URL_A);
    cache.setServing("config", false);
    if (t) cache.put(t, "x");
    cache.setServing("config", true);
    expect(cache.get("a1", "config", URL_A)).toBeUndefined();
  });

  test("going down drops everything of the scope, coming back starts empty", () => {
    const { cache, fill } = serving();
    fill("a1", "config", URL_A, "config");
    fill("a1", "live", "http://api.test/conference/v2/calls", "live");
    cache.setServing("config", false);
    expect(cache.get("a1", "config", URL_A)).toBeUndefined();
    cache.setServing("config", true);
    expect(cache.get("a1", "config", URL_A)).toBeUndefined();
    expect(cache.get("a1", "live", "http://api.test/conference/v2/calls")).toBe("live");
  });

  test("drop: only that account and scope; dropAll: the whole scope", () => {
    const { cache, fill } = serving();
    fill("a1", "config", URL_A, "a-config");
    fill("a1", "live", "u-live", "a-live");
    fill("b2", "config", URL_A, "b-config");
    cache.drop("a1", "config");
    expect(cache.get("a1", "config", URL_A)).toBeUndefined();
    expect(cache.get("a1", "live", "u-live")).toBe("a-live");
    expect(cache.get("b2", "config", URL_A)).toBe("b-config");
    cache.dropAll("live");
    expect(cache.get("a1", "live", "u-live")).toBeUndefined();
    expect(cache.get("b2", "config", URL_A)).toBe("b-config");
  });

  test("a read that a drop overtook is not kept (it may hold the state before the write)", () => {
    const { cache } = serving();
    const before = cache.ticket("a1", "config", URL_A);
    cache.drop("a1", "config");
    if (before) cache.put(before, "old");
    expect(cache.get("a1", "config", URL_A)).toBeUndefined();
    // Another account's drop does not matter.
    const t = cache.ticket("a1", "config", URL_A);
    cache.drop("b2", "config");
    if (t) cache.put(t, "new");
    expect(cache.get("a1", "config", URL_A)).toBe("new");
  });

  test("ages: the scope's maximum age from the read's start, or validUntil if sooner", () => {
    const c = clock();
    const { cache, fill } = serving({ now: c.now, configMaxAgeMs: 30_000, liveMaxAgeMs: 1000 });
    fill("a1", "live", "calls", "l");
    fill("a1", "live", "calls2", "l2", c.now() + 300);
    fill("a1", "config", URL_A, "c");
    c.advance(299);
    expect(cache.get("a1", "live", "calls2")).toBe("l2");
    c.advance(1);
    expect(cache.get("a1", "live", "calls2")).toBeUndefined();
    c.advance(699);
    expect(cache.get("a1", "live", "calls")).toBe("l");
    c.advance(1);
    expect(cache.get("a1", "live", "calls")).toBeUndefined();
    expect(cache.get("a1", "config", URL_A)).toBe("c");
    c.advance(29_000);
    expect(cache.get("a1", "config", URL_A)).toBeUndefined();
    // Already out of date when it arrives: not kept.
    fill("a1", "live", "calls3", "l3", c.now());
    expect(cache.size).toBe(0);
  });

  test("bounded: least recently used goes first; by entries and by characters; oversized bodies are not kept", () => {
    const { cache, fill } = serving({ maxEntries: 2, maxChars: 10, maxEntryChars: 6 });
    fill("a", "config", "1", "aaa");
    fill("a", "config", "2", "bbb");
    expect(cache.get("a", "config", "1")).toBe("aaa");
    fill("a", "config", "3", "ccc");
    expect(cache.get("a", "config", "2")).toBeUndefined();
    expect(cache.get("a", "config", "1")).toBe("aaa");
    expect(cache.get("a", "config", "3")).toBe("ccc");
    fill("a", "config", "4", "dddddd");
    // 3 + 6 + 3 > 10: the least recently used of the two others goes.
    expect(cache.size).toBe(2);
    expect(cache.get("a", "config", "1")).toBeUndefined();
    fill("a", "config", "5", "eeeeeee");
    expect(cache.get("a", "config", "5")).toBeUndefined();
  });
});

describe("durationValidUntil", () => {
  const at = (iso: string) => Date.parse(iso);
  const cases: { name: string; input: { date_created: string; duration: number }[]; expected: number }[] = [
    { name: "none: no bound", input: [], expected: Number.POSITIVE_INFINITY },
    {
      name: "one object: when its duration next ticks",
      input: [{ date_created: "2024-01-01T00:00:00.250Z", duration: 3 }],
      expected: at("2024-01-01T00:00:04.250Z"),
    },
    {
      name: "several: the first to tick",
      input: [
        { date_created: "2024-01-01T00:00:00.900Z", duration: 10 },
        { date_created: "2024-01-01T00:00:05.100Z", duration: 5 },
      ],
      expected: at("2024-01-01T00:00:11.100Z"),
    },
    {
      name: "created after the reader's clock (duration 0 until a second after)",
      input: [{ date_created: "2024-01-01T00:00:00.000Z", duration: 0 }],
      expected: at("2024-01-01T00:00:01.000Z"),
    },
    {
      name: "unreadable date: keep nothing",
      input: [{ date_created: "not a date", duration: 1 }],
      expected: Number.NEGATIVE_INFINITY,
    },
  ];
  for (const c of cases) test(c.name, () => expect(durationValidUntil(c.input)).toBe(c.expected));

  test("property: a body kept until then shows what the store would compute at any earlier moment", () => {
    const seconds = (now: number, since: number) => Math.max(0, Math.floor((now - since) / 1000));
    for (let i = 0; i < 2000; i++) {
      const readAt = 1_700_000_000_000 + Math.floor(Math.random() * 10_000);
      const created = readAt - 5000 + Math.floor(Math.random() * 6000);
      const o = { date_created: new Date(created).toISOString(), duration: seconds(readAt, created) };
      const until = durationValidUntil([o]);
      expect(seconds(until - 1, created)).toBe(o.duration);
      expect(seconds(until, created)).toBe(o.duration + 1);
    }
  });
});

/** A subscription source whose health the test controls. */
function fakeSource() {
  const handlers = new Set<(m: any) => unknown>();
  const watchers = new Set<(live: boolean) => void>();
  let live = false;
  const health: SubscriptionHealth = {
    get live() {
      return live;
    },
    watch(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
  };
  return {
    health,
    channels: [] as string[],
    setLive(v: boolean) {
      live = v;
      for (const w of watchers) w(v);
    },
    deliver(m: unknown) {
      for (const h of handlers) h(m);
    },
    async subscribeChannel(channel: string, handler: (m: any) => unknown) {
      this.channels.push(channel);
      handlers.add(handler);
      return async () => {
        handlers.delete(handler);
      };
    },
    get subscribers() {
      return handlers.size;
    },
  };
}

describe("connectReadCache", () => {
  test("serves each scope only while its subscription is live; messages drop what they name", async () => {
    const cache = createReadCache();
    const bus = fakeSource();
    const events = fakeSource();
    bus.setLive(true);
    const stop = await connectReadCache(cache, {
      bus: { health: bus.health, subscribe: (ch, h) => bus.subscribeChannel(ch, h) },
      events: { health: events.health, subscribe: (h) => events.subscribeChannel("events", h) },
    });
    expect(bus.channels).toEqual([invalidationChannel]);
    expect(cache.serving("config")).toBe(true);
    // The events' connection is not up yet.
    expect(cache.serving("live")).toBe(false);
    events.setLive(true);
    expect(cache.serving("live")).toBe(true);

    // A URL belongs to one scope: the calls and the rooms are different paths.
    const fill = (account: string, scope: ReadScope) => {
      const t = cache.ticket(account, scope, scope);
      if (t) cache.put(t, `${account}-${scope}`);
    };
    fill("a1", "config");
    fill("b2", "config");
    fill("a1", "live");
    bus.deliver({ kind: "account", accountSid: "a1", credentials: true });
    expect(cache.get("a1", "config", "config")).toBeUndefined();
    expect(cache.get("b2", "config", "config")).toBe("b2-config");
    expect(cache.get("a1", "live", "live")).toBe("a1-live");
    // `all`, or anything unreadable, drops every config body.
    bus.deliver("garbage");
    expect(cache.get("b2", "config", "config")).toBeUndefined();
    events.deliver({ type: "call_joined", account_sid: "a1" });
    expect(cache.get("a1", "live", "live")).toBeUndefined();

    fill("a1", "config");
    bus.setLive(false);
    expect(cache.serving("config")).toBe(false);
    expect(cache.get("a1", "config", "config")).toBeUndefined();
    bus.setLive(true);
    expect(cache.serving("config")).toBe(true);

    await stop();
    expect(cache.serving("config")).toBe(false);
    expect(cache.serving("live")).toBe(false);
    expect(bus.subscribers + events.subscribers).toBe(0);
    // Health changes after the end do not turn serving back on.
    bus.setLive(false);
    bus.setLive(true);
    expect(cache.serving("config")).toBe(false);
  });

  test("without a source the scope is never served", async () => {
    const cache = createReadCache();
    await connectReadCache(cache, {});
    expect(cache.serving("config")).toBe(false);
    expect(cache.serving("live")).toBe(false);
  });
});
