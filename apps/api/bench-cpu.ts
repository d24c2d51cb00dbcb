/**
 * CPU cost per request of the hot list routes, measured from /proc rather than from
 * throughput alone: on a machine shared with other work, req/s moves with the neighbours'
 * load, CPU-us per request much less. Starts the API alone (or `--cmd` another command),
 * pinned to CPU 0, on a fresh PostgreSQL database and Redis prefix, puts 20 live calls in
 * the store, runs `wrk -t1 -c32` pinned to CPU 1 against each route and prints req/s and
 * CPU-us per request of the service, of its PostgreSQL backends and of redis-server.
 * Usage: bun run apps/api/bench-cpu.ts [--duration 5] [--runs 1] [--cmd "bun run scripts/start.ts"]
 */
import { readFileSync, readdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createSessionStore } from "@conf/session-store";
import { deleteRedisKeys } from "./src/testing.ts";
import { benchAccount, joinBenchCalls } from "./bench-setup.ts";
import { SQL } from "bun";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    runs: { type: "string", default: "1" },
    cmd: { type: "string", default: "bun run apps/api/src/main.ts" },
    targets: { type: "string", default: "rooms,calls" },
    calls: { type: "string", default: "20" },
    /** Also an open loop at this rate (req/s) with the bench's client (apps/loadgen/src/http-load.ts, run as a CLI). */
    rate: { type: "string", default: "0" },
  },
});
const ROOT = resolve(import.meta.dir, "../..");
const ADMIN_URL = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379";
const tag = Math.random().toString(36).slice(2, 10);
const dbName = `conf_cpu_${tag}`;
const prefix = `cpubench-${tag}:`;
const ADMIN = `cpu-bench-admin-${tag}-0123456789`;
const TICK = 100; // USER_HZ

function cpuTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]); // utime + stime
  } catch {
    return 0;
  }
}
function pidsOf(name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === name) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

const admin = new SQL(ADMIN_URL, { max: 1 });
await admin.unsafe(`create database "${dbName}"`);
const dbUrl = new URL(ADMIN_URL);
dbUrl.pathname = `/${dbName}`;
const port = 20000 + Math.floor(Math.random() * 10000);
const child = spawn("sh", ["-c", `exec taskset -c 0 ${values.cmd}`], {
  cwd: ROOT,
  env: {
    ...process.env,
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_PREFIX: prefix,
    ADMIN_TOKEN: ADMIN,
    API_PORT: String(port),
    API_HOST: "127.0.0.1",
    SIP_PORT: String(port + 1),
  },
  detached: true,
  stdio: ["ignore", "inherit", "inherit"],
});
const base = `http://127.0.0.1:${port}`;
const store = createSessionStore({ redisUrl: REDIS_URL, prefix });
let renew: ReturnType<typeof setInterval> | undefined;
try {
  for (let i = 0; ; i++) {
    if (i > 100) throw new Error("service did not start");
    try {
      if ((await fetch(`${base}/conference/v2/openapi.json`)).ok) break;
    } catch {
      // not yet
    }
    await Bun.sleep(200);
  }
  const { accountSid, auth, room } = await benchAccount((path, init) => fetch(`${base}${path}`, init), ADMIN, `cpu-${tag}`);
  if (!room.ok) throw new Error(`room: ${room.status}`);
  await joinBenchCalls(store, accountSid, `cpu-${tag}`, "cpu", Number(values.calls));
  renew = setInterval(() => void store.renewLease(`cpu-${tag}`), 5000);
  const targets = { rooms: "/conference/v2/meeting_rooms?limit=10", calls: "/conference/v2/calls?limit=10" } as const;
  for (const path of Object.values(targets)) {
    const r = await fetch(`${base}${path}`, { headers: { authorization: auth } });
    const b = (await r.json()) as { count: number; total: number };
    console.log(`${path}: ${r.status} count ${b.count} total ${b.total}`);
  }
  const redisPids = pidsOf("redis-server");
  console.log("| route | run | req/s | p99 ms | service CPU us/req | postgres CPU us/req | redis CPU us/req | load avg |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (let run = 1; run <= Number(values.runs); run++) {
    for (const name of values.targets.split(",") as (keyof typeof targets)[]) {
      // Warm up first, so the pool's connections exist before their backends are listed.
      await Bun.spawn(
        ["taskset", "-c", "1", "wrk", "-t1", "-c32", "-d1s", "-H", `Authorization: ${auth}`, `${base}${targets[name]}`],
        { stdout: "ignore" },
      ).exited;
      const backends: number[] = (
        (await admin`select pid from pg_stat_activity where datname = ${dbName}`) as { pid: number }[]
      ).map((r) => Number(r.pid));
      const snap = () => ({
        svc: cpuTicks(child.pid!),
        pg: backends.reduce((a, p) => a + cpuTicks(p), 0),
        redis: redisPids.reduce((a, p) => a + cpuTicks(p), 0),
      });
      const before = snap();
      const wrk = Bun.spawn(
        [
          "taskset",
          "-c",
          "1",
          "wrk",
          "-t1",
          "-c32",
          `-d${values.duration}s`,
          "--latency",
          "-H",
          `Authorization: ${auth}`,
          `${base}${targets[name]}`,
        ],
        { stdout: "pipe" },
      );
      const out = await new Response(wrk.stdout).text();
      const after = snap();
      const reqs = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const p99m = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
      const p99 = p99m ? Number(p99m[1]) * (p99m[2] === "us" ? 0.001 : p99m[2] === "s" ? 1000 : 1) : NaN;
      if (/Non-2xx/.test(out)) console.log(out);
      const per = (t: number) => ((t * 1e6) / TICK / Math.max(1, reqs)).toFixed(1);
      const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
      let open = "";
      if (Number(values.rate) > 0) {
        const cli = resolve(ROOT, "apps/loadgen/src/http-load.ts");
        const args = [
          "taskset",
          "-c",
          "1",
          "bun",
          "run",
          cli,
          "--url",
          `${base}${targets[name]}`,
          "--duration",
          values.duration,
          "--rate",
          values.rate,
        ];
        args.push("--concurrency", "256", "--header", `Authorization: ${auth}`);
        const p = Bun.spawn(args, { stdout: "pipe", stderr: "inherit" });
        const r = JSON.parse((await new Response(p.stdout).text()).trim().split("\n").pop() ?? "{}") as {
          rps: number;
          p50Ms: number;
          p99Ms: number;
          maxMs: number;
        };
        open = ` open loop ${values.rate}/s: ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} max ${r.maxMs.toFixed(1)} ms |`;
      }
      console.log(
        `| ${name} | ${run} | ${rps.toFixed(0)} | ${p99.toFixed(2)} | ${per(after.svc - before.svc)} | ${per(after.pg - before.pg)} | ${per(after.redis - before.redis)} | ${load} |${open}`,
      );
    }
  }
} finally {
  if (renew) clearInterval(renew);
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    // gone
  }
  await Bun.sleep(1000);
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // gone
  }
  await store.close();
  await deleteRedisKeys(REDIS_URL, prefix);
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.close();
}
