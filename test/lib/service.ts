/**
 * Runs the whole service (`scripts/start.ts`: API + mixer) as a child process against
 * real Postgres (a fresh database) and real Redis (a fresh key prefix), as an operator
 * would, and cleans both up afterwards.
 */
import { textLines } from "@conf/log";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import postgres from "postgres";
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ADMIN_DB_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Creates an empty database for one run; `drop()` removes it. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `conf_e2e_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(ADMIN_DB_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_DB_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(ADMIN_DB_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

/** A free UDP/TCP port chosen by the kernel. */
export async function freePort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const p = s.port;
  s.close();
  return p;
}

/**
 * A port free for a SIP user agent: baresip binds UDP and TCP on it and TLS on the next
 * one, so all three must be free (a UDP-only check collides now and then).
 */
export async function freeSipPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await freePort();
    if (port >= 65535) continue;
    const held: { stop(): void }[] = [];
    try {
      held.push(Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }));
      held.push(Bun.listen({ hostname: "127.0.0.1", port: port + 1, socket: { data() {} } }));
      return port;
    } catch {
      // taken: try another
    } finally {
      for (const h of held) h.stop();
    }
  }
  throw new Error("no free SIP port");
}

export interface Service {
  /** The process of `scripts/start.ts` (the mixer's; the API's is its child). */
  pid: number;
  api: string;
  sipPort: number;
  /** Port of SIP over WebSocket (browsers), or 0 when the service has none. */
  sipWsPort: number;
  adminToken: string;
  /** Where its database and live store are, for a second process of the same service. */
  backing: { DATABASE_URL: string; REDIS_URL: string; REDIS_PREFIX: string };
  output(): string;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  rtpPortMin: number;
  rtpPortMax: number;
  env?: Record<string, string>;
  /**
   * Run on the embedded defaults, as `bun run start` does on a fresh machine: PGlite in a
   * temporary directory and the in-process live store (no DATABASE_URL, no REDIS_URL).
   */
  embedded?: boolean;
}

/** A database that is a PGlite directory of its own, removed by `drop()`. */
function embeddedDatabase(): { url: string; dir: string; drop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), "conf-e2e-pglite-"));
  return { url: "", dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const embedded = opts.embedded ? embeddedDatabase() : null;
  const db = embedded ?? (await freshDatabase());
  const url = db.url;
  const prefix = `e2e-${crypto.randomUUID().slice(0, 8)}:`;
  const adminToken = `e2e-token-${crypto.randomUUID()}`;
  const inherited: Record<string, string | undefined> = { ...process.env };
  if (embedded) {
    delete inherited.DATABASE_URL;
    delete inherited.REDIS_URL;
  }
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(["bun", "run", "scripts/start.ts"], {
    cwd: ROOT,
    env: {
      ...inherited,
      // Port 0: the service binds free ports itself and prints them (no race with others).
      API_PORT: "0",
      API_HOST: "127.0.0.1",
      SIP_PORT: "0",
      SIP_HOST: "127.0.0.1",
      // Any free port: services of test files running side by side must not meet on 5066.
      SIP_WS_PORT: "0",
      RTP_PORT_MIN: String(opts.rtpPortMin),
      RTP_PORT_MAX: String(opts.rtpPortMax),
      ...(embedded ? { PGLITE_DIR: embedded.dir } : { DATABASE_URL: url, REDIS_URL }),
      REDIS_PREFIX: prefix,
      ADMIN_TOKEN: adminToken,
      ...opts.env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const c of s) out += dec.decode(c);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  let stopping = false;
  void proc.exited.then((code) => {
    if (!stopping) console.error(`service exited unexpectedly (code ${code}); its output:\n${out.slice(-4000)}`);
  });
  // PGlite's first start creates and migrates its database: slower than a server's.
  const deadline = Date.now() + (embedded ? 60_000 : 20_000);
  while (!out.includes("conference: ready")) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      await db.drop();
      throw new Error(`service did not start:\n${out}`);
    }
    await Bun.sleep(50);
  }
  const api = out.match(/conference: API on (http:\/\/[^\s]+)/)?.[1];
  const sipPort = Number(out.match(/conference: SIP on udp [^\s]+:(\d+)/)?.[1]);
  const sipWsPort = Number(out.match(/conference: SIP over WebSocket on ws:\/\/[^\s]+:(\d+)/)?.[1] ?? 0);
  if (!api || !sipPort) throw new Error(`service printed no API URL or SIP port:\n${out}`);
  return {
    pid: proc.pid,
    api,
    sipPort,
    sipWsPort,
    adminToken,
    backing: { DATABASE_URL: url, REDIS_URL, REDIS_PREFIX: prefix },
    // JSON records (@conf/log) read as the `module[ worker]: message` lines they replaced.
    output: () => textLines(out),
    async stop() {
      stopping = true;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(t);
      await db.drop();
      if (embedded) return;
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
}

/** An operator and an account of the running service, speaking its HTTP API. */
export class ApiClient {
  constructor(
    readonly base: string,
    private readonly auth: string,
  ) {}

  /** The Authorization header it sends. */
  get authorization(): string {
    return this.auth;
  }

  static operator(svc: Service): ApiClient {
    return new ApiClient(svc.api, `Bearer ${svc.adminToken}`);
  }

  static account(svc: Service, login: string, password: string): ApiClient {
    return new ApiClient(svc.api, `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`);
  }

  async req<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(this.base + path, {
      method,
      headers: { Authorization: this.auth, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
}

export interface Provisioned {
  account: ApiClient;
  accountSid: string;
  endpointSid: string;
}

/** Creates a conference endpoint and a DID for it; returns the account's client. */
export async function provision(svc: Service, phonenumber: string): Promise<Provisioned> {
  const op = ApiClient.operator(svc);
  const ep = await op.req<{ endpoint_sid: string; properties: { login: string; password: string; account_sid: string } }>(
    "POST",
    "/core/v2/endpoints",
    { name: "e2e", type: "conference" },
  );
  if (ep.status !== 200) throw new Error(`endpoint: ${ep.status} ${JSON.stringify(ep.body)}`);
  const did = await op.req("POST", "/core/v2/dids", { phonenumber, endpoint_sid: ep.body.endpoint_sid });
  if (did.status !== 200) throw new Error(`did: ${did.status} ${JSON.stringify(did.body)}`);
  return {
    account: ApiClient.account(svc, ep.body.properties.login, ep.body.properties.password),
    accountSid: ep.body.properties.account_sid,
    endpointSid: ep.body.endpoint_sid,
  };
}

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}
