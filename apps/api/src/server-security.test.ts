/**
 * Limits over real HTTP on loopback: the body limit with a declared length and with a
 * chunked body that would never end, and the failed-login limiter keyed by the TCP
 * peer Bun reports (other 127.x addresses stand in for other clients).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import http from "node:http";
import { createTestDatabase, type TestDatabase } from "@conf/db/testing";
import { createBus, type Bus } from "@conf/session-store";
import { parseEnv } from "./lib/env.ts";
import { type RunningApi, startApi } from "./server.ts";

const MAX = 4096;
let api: RunningApi;
let testDb: TestDatabase;
let bus: Bus;
let login = "";
let password = "";

beforeAll(async () => {
  const env = parseEnv({
    API_PORT: "0",
    API_HOST: "127.0.0.1",
    API_MAX_BODY_BYTES: String(MAX),
    API_LOGIN_FAILURES_PER_LOGIN: "3",
    API_LOGIN_FAILURES_PER_ADDRESS: "10",
  });
  if (!env.ok) throw new Error(env.error);
  testDb = await createTestDatabase({ kind: "pglite" });
  bus = createBus({ prefix: `serversec:${crypto.randomUUID()}:` });
  api = await startApi({ env: env.value, database: testDb.database, bus });
  const r = await fetch(`${api.url}/core/v2/endpoints`, {
    method: "POST",
    headers: { Authorization: `Bearer ${api.adminToken}`, "Content-Type": "application/json" },
    body: '{"name":"sec","type":"conference"}',
  });
  const ep = (await r.json()) as { properties: { login: string; password: string } };
  login = ep.properties.login;
  password = ep.properties.password;
}, 60_000);

afterAll(async () => {
  await api.close();
  await bus.close();
  await testDb.drop();
});

const basic = (l: string, p: string) => `Basic ${Buffer.from(`${l}:${p}`).toString("base64")}`;
const TOO_LARGE = {
  message: "payload too large",
  errors: [{ field: "body", message: `the request body must be at most ${MAX} bytes`, reference_sid: null }],
};

/** A request from `localAddress`, with a body written by `write` (chunked unless a length is set). */
function request(opts: {
  method: string;
  path: string;
  localAddress?: string;
  headers?: Record<string, string>;
  write?: (req: http.ClientRequest, answered: () => boolean) => Promise<void>;
}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(api.url);
  return new Promise((resolve, reject) => {
    let done = false;
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: opts.method,
        path: opts.path,
        localAddress: opts.localAddress,
        headers: opts.headers,
      },
      (res) => {
        done = true;
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", (e) => (done ? undefined : reject(e)));
    (opts.write ? opts.write(req, () => done) : Promise.resolve()).then(
      () => req.end(),
      () => req.destroy(),
    );
  });
}

test("a declared body over API_MAX_BODY_BYTES is a 413 in the reference's shape", async () => {
  const auth = basic(login, password);
  const r = await fetch(`${api.url}/conference/v2/meeting_rooms`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "x".repeat(MAX) }),
  });
  expect(r.status).toBe(413);
  expect(await r.json()).toEqual(TOO_LARGE);
  // Just under the limit is an ordinary request.
  const ok = await fetch(`${api.url}/conference/v2/meeting_rooms`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "x".repeat(200) }),
  });
  expect(ok.status).toBe(200);
});

test("a chunked body is cut off once past the limit, without reading the rest", async () => {
  let sent = 0;
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const r = await request({
    method: "POST",
    path: "/conference/v2/meeting_rooms",
    headers: { Authorization: basic(login, password), "Content-Type": "application/json" },
    async write(req, answered) {
      // Up to 64 MiB, stopping as soon as the server has answered.
      while (!answered() && sent < 64 * 1024 * 1024) {
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        sent += chunk.length;
        await Bun.sleep(1);
      }
      if (!answered()) throw new Error("no answer");
    },
  });
  expect(r.status).toBe(413);
  expect(JSON.parse(r.body)).toEqual(TOO_LARGE);
  // The server answered long before the client was through (socket buffers hold a few MiB at most).
  expect(sent).toBeLessThan(16 * 1024 * 1024);
});

test("failed logins are counted per TCP peer: the attacker's 127.0.0.66 is refused, the owner's 127.0.0.10 is not", async () => {
  for (let i = 0; i < 3; i++) {
    const r = await request({
      method: "GET",
      path: "/conference/v2/accounts/whoami",
      localAddress: "127.0.0.66",
      headers: { Authorization: basic(login, `guess${i}`) },
    });
    expect(r.status).toBe(401);
  }
  const refused = await request({
    method: "GET",
    path: "/conference/v2/accounts/whoami",
    localAddress: "127.0.0.66",
    headers: { Authorization: basic(login, "guess3") },
  });
  expect(refused.status).toBe(429);
  expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
  expect(JSON.parse(refused.body).message).toBe("too many requests");
  const owner = await request({
    method: "GET",
    path: "/conference/v2/accounts/whoami",
    localAddress: "127.0.0.10",
    headers: { Authorization: basic(login, password) },
  });
  expect(owner.status).toBe(200);
});
