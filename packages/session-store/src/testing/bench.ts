/**
 * Rough throughput check of an adapter (not run by `bun test`):
 *   bun run src/testing/bench.ts [redisUrl]
 * Joins N calls (200 in flight) into N/10 meetings of one account, lists them, leaves them.
 */
import { createSessionStore } from "../store.ts";
import { deleteKeys } from "./harness.ts";
import { Redis } from "ioredis";

const url = process.argv[2];
const N = 2000;
const prefix = `bench:${Date.now().toString(36)}:`;
const store = createSessionStore({ redisUrl: url, prefix });
const t0 = performance.now();
const sids: string[] = [];
for (let i = 0; i < N; i += 200) {
  const batch = await Promise.all(
    Array.from({ length: 200 }, (_, j) =>
      store.join({
        meetingKey: `m${(i + j) % (N / 10)}`,
        accountSid: "acct",
        meetingRoomSid: null,
        nodeId: "n1",
        call: {
          access_code: "1",
          codecs: "PCMU",
          number_src: "a",
          number_dst: "b",
          name: "",
          direction: "In",
          role: "participant",
        },
      }),
    ),
  );
  for (const r of batch) if (r.ok) sids.push(r.call.call_sid);
}
const t1 = performance.now();
let listed = 0;
const lists = 20;
for (let i = 0; i < lists; i++) listed = (await store.listCalls("acct")).length;
const t2 = performance.now();
await Promise.all(sids.map((s) => store.leave(s)));
const t3 = performance.now();
console.log(
  `${store.kind}: ${N} joins ${(N / ((t1 - t0) / 1000)).toFixed(0)}/s; listCalls(${listed}) ${((t2 - t1) / lists).toFixed(1)} ms; ${N} leaves ${(N / ((t3 - t2) / 1000)).toFixed(0)}/s`,
);
await store.close();
if (url) {
  const r = new Redis(url);
  await deleteKeys(r, prefix);
  await r.quit();
}
