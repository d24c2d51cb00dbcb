/**
 * In-process profile of the two hot list routes (no HTTP server, no wrk): where a request's
 * time goes, stage by stage, on a fresh database and Redis prefix.
 * Usage: bun run apps/api/profile-list.ts [postgres|pglite] [redis|memory] [requests]
 */
import { createTestDatabase } from "@conf/db/testing";
import { createSessionStore } from "@conf/session-store";
import { deleteRedisKeys } from "./src/testing.ts";
import { createApp } from "./src/app.ts";

const kind = (process.argv[2] ?? "postgres") as "postgres" | "pglite";
const storeKind = process.argv[3] ?? "redis";
const N = Number(process.argv[4] ?? 3000);
const REDIS_URL = process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379";
const ADMIN = "profile-admin-token-0123456789";
const prefix = `apiprof:${Date.now().toString(36)}:`;

const testDb = await createTestDatabase({
  kind,
  maxConnections: process.env.PROFILE_POOL ? Number(process.env.PROFILE_POOL) : undefined,
});
const store = createSessionStore({ redisUrl: storeKind === "redis" ? REDIS_URL : undefined, prefix });
const app = createApp({ database: testDb.database, adminToken: ADMIN, sessionStore: store });

async function req(path: string, init: RequestInit = {}): Promise<Response> {
  return app.request(`http://api.test${path}`, init);
}

let accountSid = "";
try {
  const ep = await (
    await req("/core/v2/endpoints", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "prof", type: "conference" }),
    })
  ).json();
  const { login, password } = (ep as any).properties;
  accountSid = (ep as any).properties.account_sid;
  const auth = `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`;
  const rooms = Number(process.env.PROFILE_ROOMS ?? 1);
  for (let i = 0; i < rooms; i++) {
    const r = await req("/conference/v2/meeting_rooms", {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({
        name: `room ${i}`,
        access_codes: [
          { access_code: `${100000 + i * 3}`, role: "host" },
          { access_code: `${100001 + i * 3}`, role: "participant" },
          { access_code: `${100002 + i * 3}`, role: "listener" },
        ],
      }),
    });
    if (r.status !== 200) throw new Error(`room: ${r.status} ${await r.text()}`);
  }
  for (let i = 0; i < 20; i++) {
    const j = await store.join({
      meetingKey: `${accountSid}:prof`,
      accountSid,
      meetingRoomSid: null,
      nodeId: "prof-node",
      call: {
        access_code: "100002",
        codecs: "PCMU",
        number_src: `<sip:${i}@h>`,
        number_dst: "<sip:2@h>",
        name: "",
        direction: "In",
        role: "listener",
      },
    });
    if (!j.ok) throw new Error("join failed");
  }
  const headers = { authorization: auth };

  const only = process.env.PROFILE_ONLY;
  async function sequential(label: string, fn: () => Promise<unknown>) {
    if (only && !`seq ${label}`.includes(only)) return;
    for (let i = 0; i < 200; i++) await fn();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn();
    const us = ((performance.now() - t0) / N) * 1000;
    const c = process.cpuUsage(c0);
    console.log(`${label.padEnd(48)} sequential ${us.toFixed(1)} us/op, CPU ${((c.user + c.system) / N).toFixed(1)} us/op`);
  }
  async function concurrent(label: string, fn: () => Promise<unknown>, inflight = 32) {
    if (only && !`conc ${label}`.includes(only)) return;
    for (let i = 0; i < 200; i++) await fn();
    let left = N;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (left-- > 0) await fn();
      }),
    );
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    console.log(
      `${label.padEnd(48)} ${inflight} in flight ${(N / s).toFixed(0)} req/s, CPU ${((c.user + c.system) / N).toFixed(1)} us/op`,
    );
  }

  const rooms0 = await (await req("/conference/v2/meeting_rooms?limit=10", { headers })).json();
  const calls0 = await (await req("/conference/v2/calls?limit=10", { headers })).json();
  console.log(
    `rooms page: count ${(rooms0 as any).count} total ${(rooms0 as any).total}; calls page: count ${(calls0 as any).count} total ${(calls0 as any).total}`,
  );

  const { createRepositories } = await import("@conf/db");
  const repo = createRepositories(testDb.database);
  await sequential("repo.meetingRooms.list", () => repo.meetingRooms.list({ accountSid, limit: 10, offset: 0 }));
  await sequential("store.listCalls", () => store.listCalls(accountSid));
  await sequential("app GET /conference/v2/accounts/whoami (auth only)", () =>
    req("/conference/v2/accounts/whoami", { headers }).then((r) => r.text()),
  );
  await sequential("app GET /conference/v2/meeting_rooms?limit=10", () =>
    req("/conference/v2/meeting_rooms?limit=10", { headers }).then((r) => r.text()),
  );
  await sequential("app GET /conference/v2/calls?limit=10", () =>
    req("/conference/v2/calls?limit=10", { headers }).then((r) => r.text()),
  );
  await concurrent("app GET /conference/v2/meeting_rooms?limit=10", () =>
    req("/conference/v2/meeting_rooms?limit=10", { headers }).then((r) => r.text()),
  );
  await concurrent("app GET /conference/v2/calls?limit=10", () =>
    req("/conference/v2/calls?limit=10", { headers }).then((r) => r.text()),
  );
} finally {
  for (const m of await store.listMeetings(accountSid)) await store.endMeeting(m.meeting_sid);
  await store.close();
  await testDb.drop();
  if (storeKind === "redis") await deleteRedisKeys(REDIS_URL, prefix);
}
