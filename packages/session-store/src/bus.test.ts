import { describe, expect, test } from "bun:test";
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
  });
}
