/**
 * The API layer's own cost per request, without database or Redis I/O: the app served by
 * Bun.serve in this process (run it pinned: `taskset -c 0 bun run apps/api/bench-layers.ts`)
 * with the meeting-room list and the live calls answered from memory, loaded by
 * `wrk -t1 -c32` on CPU 1. Prints req/s and this process's CPU-us per request per route,
 * next to a bare Hono route returning the same body (the framework's floor).
 */
import { readFileSync } from "node:fs";
import { createRepositories } from "@conf/db";
import { createTestDatabase } from "@conf/db/testing";
import { createSessionStore } from "@conf/session-store";
import { Hono } from "hono";
import { createApp } from "./src/app.ts";
import { benchAccount, joinBenchCalls } from "./bench-setup.ts";

const DURATION = Number(process.env.LAYERS_DURATION ?? 2);
const testDb = await createTestDatabase({ kind: "pglite" });
const store = createSessionStore({});
const repos = createRepositories(testDb.database);
const ADMIN = "layers-admin-token-0123456789";
const app = createApp({ database: testDb.database, adminToken: ADMIN, sessionStore: store, repos });

const { accountSid, auth } = await benchAccount(async (path, init) => app.request(`http://x${path}`, init), ADMIN, "layers");
await joinBenchCalls(store, accountSid, "layers", "layers", 20);
// Answer the two lists from memory: what is left is the API layer itself.
const page = await repos.meetingRooms.list({ accountSid, limit: 10, offset: 0 });
const meetingRooms = Object.create(repos.meetingRooms);
meetingRooms.list = async () => ({ items: [...page.items], total: page.total });
(repos as { meetingRooms: unknown }).meetingRooms = meetingRooms;
const calls = await store.listCalls(accountSid);
const listCalls = store.listCalls.bind(store);
(store as { listCalls: unknown }).listCalls = async (sid: string) => (sid === accountSid ? [...calls] : listCalls(sid));

const bare = new Hono();
const body = await (
  await app.request("http://x/conference/v2/meeting_rooms?limit=10", { headers: { authorization: auth } })
).json();
bare.get("/ceiling", (c) => c.json(body));

const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
const bareServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: bare.fetch });
const targets = [
  ["bare Hono, same body", `http://127.0.0.1:${bareServer.port}/ceiling`, false],
  ["meeting_rooms (list from memory)", `http://127.0.0.1:${server.port}/conference/v2/meeting_rooms?limit=10`, true],
  ["calls (store from memory)", `http://127.0.0.1:${server.port}/conference/v2/calls?limit=10`, true],
  ["auth + 404", `http://127.0.0.1:${server.port}/conference/v2/nothing`, true],
] as const;
// Short rounds, interleaved, min and median: on a shared machine the neighbours' load
// comes and goes, and the least disturbed round is the closest to the code's own cost.
const ROUNDS = Number(process.env.LAYERS_ROUNDS ?? 5);
const results = new Map<string, { rps: number; cpu: number }[]>();
const only = process.env.LAYERS_ONLY;
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, url, withAuth] of targets) {
    if (only && !label.includes(only) && (label !== targets[0][0] || process.env.LAYERS_SKIP_BARE)) continue;
    const args = ["taskset", "-c", "1", "wrk", "-t1", "-c32", `-d${DURATION}s`];
    if (withAuth) args.push("-H", `Authorization: ${auth}`);
    args.push(url);
    const c0 = process.cpuUsage();
    const wrk = Bun.spawn(args, { stdout: "pipe" });
    const out = await new Response(wrk.stdout).text();
    const c = process.cpuUsage(c0);
    const reqs = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    if (/Non-2xx/.test(out)) console.log(out);
    const list = results.get(label) ?? [];
    list.push({ rps, cpu: (c.user + c.system) / Math.max(1, reqs) });
    results.set(label, list);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
console.log(
  `| route | req/s max / median | CPU us/req min / median | (${ROUNDS} rounds of ${DURATION} s, load avg ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}) |`,
);
console.log("|---|---|---|---|");
const bareCpu = (results.get(targets[0][0]) ?? []).map((r) => r.cpu);
for (const [label, list] of results) {
  const rps = list.map((r) => r.rps);
  const cpu = list.map((r) => r.cpu);
  // Against the bare route of the same round: the machine's speed of the moment cancels out.
  const ratio = list.map((r, i) => r.cpu / bareCpu[i]!);
  console.log(
    `| ${label} | ${Math.max(...rps).toFixed(0)} / ${med(rps).toFixed(0)} | ${Math.min(...cpu).toFixed(1)} / ${med(cpu).toFixed(1)} | x${Math.min(...ratio).toFixed(2)} / x${med(ratio).toFixed(2)} of bare |`,
  );
}
server.stop(true);
bareServer.stop(true);
await store.close();
await testDb.drop();
