import { afterAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { type Delivery, type DeliveryQueue, MemoryDeliveryQueue, RedisDeliveryQueue } from "./delivery-queue.ts";
import { deleteKeys, TEST_REDIS_URL } from "./testing/harness.ts";

const base = `test:dq:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
let n = 0;
const redis = new Redis(TEST_REDIS_URL);
afterAll(async () => {
  await deleteKeys(redis, base);
  await redis.quit();
});

const d = (webhookSid: string, event: number): Delivery => ({
  id: `${webhookSid}|${event}`,
  webhookSid,
  accountSid: "acct",
  body: `{"n":${event}}`,
  attempt: 0,
  firstAt: 1000,
});

const adapters: [string, (limits?: { maxTotal?: number; maxPerWebhook?: number }) => DeliveryQueue][] = [
  ["memory", (l) => new MemoryDeliveryQueue(`${base}${++n}:`, l)],
  ["redis", (l) => new RedisDeliveryQueue(redis, `${base}${++n}:`, l)],
];

for (const [name, make] of adapters) {
  describe(`delivery queue (${name})`, () => {
    test("due order, leases, retry with the new attempt, done; enqueue is idempotent", async () => {
      const q = make();
      expect(await q.enqueue(d("w1", 1), 100)).toBe("queued");
      expect(await q.enqueue(d("w1", 1), 100)).toBe("duplicate");
      expect(await q.enqueue(d("w1", 2), 50)).toBe("queued");
      expect(await q.enqueue(d("w2", 1), 500)).toBe("queued");
      expect(await q.claim(10, 10, 1000)).toEqual([]);
      const first = await q.claim(200, 10, 1000);
      expect(first.map((x) => x.id)).toEqual(["w1|2", "w1|1"]);
      // Leased: not claimed again until the lease runs out.
      expect(await q.claim(600, 10, 1000)).toEqual([d("w2", 1)]);
      await q.retry({ ...(first[0] as Delivery), attempt: 1 }, 700);
      await q.done(first[1] as Delivery);
      const again = await q.claim(800, 10, 1000);
      expect(again).toEqual([{ ...d("w1", 2), attempt: 1 }]);
      expect(await q.size()).toBe(2);
      await q.done(again[0] as Delivery);
      await q.done(again[0] as Delivery);
      expect(await q.size()).toBe(1);
      // A lease that ran out (the process died): claimed again.
      expect((await q.claim(1700, 10, 1000)).map((x) => x.id)).toEqual(["w2|1"]);
    });

    test("bounded: per webhook and in all", async () => {
      const q = make({ maxTotal: 5, maxPerWebhook: 2 });
      expect(await q.enqueue(d("w1", 1), 0)).toBe("queued");
      expect(await q.enqueue(d("w1", 2), 0)).toBe("queued");
      expect(await q.enqueue(d("w1", 3), 0)).toBe("full");
      expect(await q.enqueue(d("w2", 1), 0)).toBe("queued");
      expect(await q.enqueue(d("w3", 1), 0)).toBe("queued");
      expect(await q.enqueue(d("w4", 1), 0)).toBe("queued");
      expect(await q.enqueue(d("w5", 1), 0)).toBe("full");
      await q.done(d("w1", 1));
      expect(await q.enqueue(d("w1", 3), 0)).toBe("queued");
    });
  });
}
