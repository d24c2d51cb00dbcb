import { describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { type Bus, createBus } from "./bus.ts";
import { TEST_REDIS_URL, waitFor } from "./testing/harness.ts";

const run = `bustest:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;

for (const kind of ["memory", "redis"] as const) {
  const open = (prefix: string, onError?: (e: unknown) => void): Bus =>
    createBus({ prefix: `${run}${prefix}`, redisUrl: kind === "redis" ? TEST_REDIS_URL : undefined, onError });

  describe(`Bus (${kind})`, () => {
    test("delivers JSON values on a named channel to every subscriber of the same prefix", async () => {
      const api = open("a:");
      const router1 = open("a:");
      const router2 = open("a:");
      const stranger = open("b:");
      try {
        const got1: unknown[] = [];
        const got2: [unknown, string][] = [];
        const gotStranger: unknown[] = [];
        await router1.subscribe("config:invalidate", (m) => {
          got1.push(m);
        });
        await router2.subscribe<{ kind: string }>("config:invalidate", (m, channel) => {
          got2.push([m.kind, channel]);
        });
        await router2.subscribe("other", (m) => {
          got2.push([m, "other"]);
        });
        await stranger.subscribe("config:invalidate", (m) => {
          gotStranger.push(m);
        });
        expect(await api.publish("config:invalidate", { kind: "account", accountSid: "a1" })).toBe(2);
        expect(await api.publish("config:invalidate", { kind: "all" })).toBe(2);
        await waitFor(() => got1.length === 2 && got2.length === 2);
        expect(got1).toEqual([{ kind: "account", accountSid: "a1" }, { kind: "all" }]);
        expect(got2).toEqual([
          ["account", "config:invalidate"],
          ["all", "config:invalidate"],
        ]);
        await Bun.sleep(20);
        expect(gotStranger).toEqual([]);
      } finally {
        await Promise.all([api, router1, router2, stranger].map((b) => b.close()));
      }
    });

    test("unsubscribe stops delivery; a throwing handler goes to onError; close is idempotent", async () => {
      const errors: unknown[] = [];
      const bus = open("c:", (e) => errors.push(e));
      const pub = open("c:");
      try {
        const got: unknown[] = [];
        const stop = await bus.subscribe("ch", (m) => {
          got.push(m);
        });
        await bus.subscribe("ch", async () => {
          throw new Error("handler failed");
        });
        expect(await pub.publish("ch", 1)).toBeGreaterThanOrEqual(1);
        await waitFor(() => got.length === 1 && errors.length === 1);
        expect(String(errors[0])).toContain("handler failed");
        await stop();
        await stop();
        await pub.publish("ch", 2);
        await Bun.sleep(30);
        expect(got).toEqual([1]);
      } finally {
        await bus.close();
        await bus.close();
        await pub.close();
      }
      await expect(bus.subscribe("ch", () => {})).rejects.toThrow(/after close/);
    });

    test("health: live once subscribed, down after close, watchers told of each change", async () => {
      const bus = open("h:");
      const changes: boolean[] = [];
      const stop = bus.health.watch((live) => changes.push(live));
      await bus.subscribe("ch", () => {});
      await waitFor(() => bus.health.live);
      await bus.close();
      expect(bus.health.live).toBe(false);
      stop();
      // In-process it is live from the start: nothing can come between publisher and subscriber.
      expect(changes).toEqual(kind === "memory" ? [false] : [true, false]);
    });
  });
}

describe("Bus (redis): health across a lost subscriber connection", () => {
  test("goes down when the connection drops and live again only once the channels are subscribed again", async () => {
    // The subscriber connection is a duplicate of this one, so it carries the same name,
    // which is how the test finds it (and only it) on the shared server.
    const name = `bustest-${crypto.randomUUID().slice(0, 8)}`;
    const conn = new Redis(TEST_REDIS_URL, { connectionName: name });
    const admin = new Redis(TEST_REDIS_URL);
    const bus = createBus({ redis: conn, prefix: `${run}kill:` });
    try {
      const got: unknown[] = [];
      const changes: boolean[] = [];
      bus.health.watch((live) => changes.push(live));
      await bus.subscribe("ch", (m) => {
        got.push(m);
      });
      await waitFor(() => bus.health.live);
      const clients = (await admin.client("LIST")) as string;
      const sub = clients.split("\n").find((l) => l.includes(`name=${name}`) && / sub=[1-9]/.test(l));
      const id = sub?.match(/\bid=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await admin.client("KILL", "ID", id as string);
      await waitFor(() => changes.length >= 2, 5000);
      expect(changes.slice(0, 2)).toEqual([true, false]);
      await waitFor(() => bus.health.live, 5000);
      // Live again means subscribed again: the next message arrives.
      await bus.publish("ch", "after");
      await waitFor(() => got.includes("after"));
      expect(changes).toEqual([true, false, true]);
    } finally {
      await bus.close();
      conn.disconnect();
      admin.disconnect();
    }
  });
});
