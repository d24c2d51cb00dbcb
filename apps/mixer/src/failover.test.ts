import { describe, expect, test } from "bun:test";
import { createSessionStore, type HandoverMessage } from "@conf/session-store";
import { NodeWatch } from "./failover.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe("NodeWatch: which nodes have gone unheard", () => {
  test("a node unheard for silentMs is dead, once; an answer or an unheard self starts the count anew", async () => {
    const listening = new Map<string, number>([
      ["self", 1],
      ["a", 0],
      ["b", 1],
    ]);
    const died: [string, number][] = [];
    const w = new NodeWatch(
      "self",
      async (n) => listening.get(n) ?? 0,
      1000,
      (n, ms) => died.push([n, ms]),
    );
    await w.probe(["a", "b", "self"], 0);
    await w.probe(["a", "b"], 600);
    expect(died).toEqual([]);
    // The store is away: our own channel is unheard, so a's silence counts from later.
    listening.set("self", 0);
    await w.probe(["a", "b"], 900);
    listening.set("self", 1);
    await w.probe(["a", "b"], 1200);
    await w.probe(["a", "b"], 2100);
    expect(died).toEqual([]);
    await w.probe(["a", "b"], 2200);
    expect(died).toEqual([["a", 1000]]);
    // a listens again for a moment: its silence counts anew; b never fell silent.
    listening.set("a", 1);
    await w.probe(["a", "b"], 2300);
    listening.set("a", 0);
    await w.probe(["a", "b"], 2400);
    await w.probe(["a", "b"], 3300);
    expect(died.length).toBe(1);
    // A failed probe is not silence.
    const failing = new NodeWatch(
      "self",
      async (n) => {
        if (n === "c") throw new Error("store away");
        return 1;
      },
      100,
      (n) => died.push([n, 0]),
    );
    await failing.probe(["c"], 0);
    await failing.probe(["c"], 500);
    expect(died.length).toBe(1);
  });

  test("with Redis: a process that subscribed to its control channel and was killed is found dead within silentMs", async () => {
    const prefix = `failover-test:${crypto.randomUUID()}:`;
    const store = createSessionStore({ redisUrl: REDIS_URL, prefix });
    const unsubscribe = await store.control.subscribe("front", () => {});
    // Another node: a process of its own listening on its control channel.
    const child = Bun.spawn(
      [
        process.execPath,
        "-e",
        `import { createSessionStore } from "@conf/session-store";
         const s = createSessionStore({ redisUrl: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(prefix)} });
         await s.control.subscribe("worker", () => {});
         console.log("listening");
         setInterval(() => {}, 1000);`,
      ],
      { cwd: import.meta.dir, stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = child.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain("listening");
      const ping: HandoverMessage = {
        type: "handover",
        meetingSid: "",
        step: "ping",
        handoverId: "",
        fromNodeId: "front",
        body: {},
      };
      const died: string[] = [];
      const silentMs = 500;
      const watch = new NodeWatch(
        "front",
        (n) => store.control.send(n, ping),
        silentMs,
        (n) => died.push(n),
      );
      const probes = setInterval(() => void watch.probe(["worker"], performance.now()), 100);
      try {
        await Bun.sleep(1200);
        expect(died).toEqual([]);
        const killed = performance.now();
        child.kill("SIGKILL");
        while (died.length === 0 && performance.now() - killed < 5000) await Bun.sleep(20);
        const tookMs = performance.now() - killed;
        expect(died).toEqual(["worker"]);
        expect(tookMs).toBeGreaterThanOrEqual(silentMs);
        expect(tookMs).toBeLessThan(silentMs + 1000);
      } finally {
        clearInterval(probes);
      }
    } finally {
      child.kill("SIGKILL");
      await child.exited;
      await unsubscribe();
      await store.close();
    }
  });
});
