/** Redis-only checks beyond the shared contract: keys, round trips, scripts, processes. */
import { afterAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { runScript } from "./lua.ts";
import { createSessionStore } from "./store.ts";
import { deleteKeys, listKeys, TEST_REDIS_URL } from "./testing/harness.ts";

const base = `test:ssr:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
let n = 0;
const prefix = () => `${base}${++n}:`;
const admin = new Redis(TEST_REDIS_URL);

afterAll(async () => {
  await deleteKeys(admin, base);
  await admin.quit();
});

const call = (role: "host" | "participant" | "listener", call_sid?: string) => ({
  call_sid,
  access_code: "42",
  codecs: "PCMU",
  number_src: "<sip:100@127.0.0.1>",
  number_dst: "<sip:200@127.0.0.1>",
  name: "",
  direction: "In" as const,
  role,
});

describe("Redis adapter", () => {
  test("leaves no key behind once every meeting is gone (leave, end, reap), but the epoch marker and the event log", async () => {
    const p = prefix();
    let t = 1_700_000_000_000;
    const s = createSessionStore({ redisUrl: TEST_REDIS_URL, prefix: p, clock: () => t, leaseTtlMs: 1000 });
    try {
      const j = (key: string, role: "host" | "participant", node = "n1", acct = "acct-1") =>
        s.join({ meetingKey: key, accountSid: acct, meetingRoomSid: "room", nodeId: node, call: call(role) });
      const a = await j("a", "host");
      await j("b", "host", "n2", "acct-2");
      await j("c", "participant", "n3");
      expect((await listKeys(admin, p)).length).toBeGreaterThan(5);
      if (a.ok) await s.leave(a.call.call_sid);
      const b = await s.getMeetingByKey("b");
      if (b) await s.endMeeting(b.meeting_sid);
      t += 2000;
      expect((await s.reapExpired()).length).toBe(1);
      // One key per prefix, for the life of the deployment: how clients tell a Redis that
      // lost its data (lua.ts). The public event log's streams are bounded and expire
      // after its retention (event-log.ts).
      const left = (await listKeys(admin, p)).filter((k) => !k.startsWith(`${p}evlog`));
      expect(left).toEqual([`${p}epoch`]);
      for (const k of await listKeys(admin, `${p}evlog:`)) expect(await admin.pttl(k)).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });

  test("each operation is one awaited command; changes add an unawaited PUBLISH (the event) and EVALSHA (its log entry)", async () => {
    const p = prefix();
    const conn = new Redis(TEST_REDIS_URL);
    const sent: string[] = [];
    const original = conn.sendCommand.bind(conn);
    conn.sendCommand = ((cmd: { name: string }) => {
      sent.push(cmd.name);
      return original(cmd as Parameters<typeof original>[0]);
    }) as typeof conn.sendCommand;
    const s = createSessionStore({ redis: conn, prefix: p });
    try {
      await s.getMeetingByKey("warm"); // loads the scripts (EVALSHA may fall back to EVAL once)
      // Runs `op` once so its script is cached on the server (a first EVALSHA may fall
      // back to EVAL), then counts the commands of a second run.
      const count = async (op: () => Promise<unknown>) => {
        await op();
        await Bun.sleep(10);
        sent.length = 0;
        await op();
        await Bun.sleep(10);
        return [...sent];
      };
      const j = await s.join({ meetingKey: "k", accountSid: "x", meetingRoomSid: null, nodeId: "n", call: call("host") });
      if (!j.ok) throw new Error("refused");
      const ops: [string, () => Promise<unknown>][] = [
        ["getCall", () => s.getCall(j.call.call_sid)],

        ["getMeetingByKey", () => s.getMeetingByKey("k")],
        ["listCalls", () => s.listCalls("x")],
        ["listMeetings", () => s.listMeetings("x")],
        ["listCallsOfMeeting", () => s.listCallsOfMeeting(j.meeting.meeting_sid)],
        ["renewLease", () => s.renewLease("n")],
        ["reapExpired", () => s.reapExpired()],
      ];
      for (const [name, op] of ops) expect({ name, cmds: await count(op) }).toEqual({ name, cmds: ["evalsha"] });
      expect(await count(() => s.getMeeting(j.meeting.meeting_sid))).toEqual(["get"]);
      let muted = false;
      expect(await count(() => s.updateCall(j.call.call_sid, { muted: (muted = !muted) }))).toEqual([
        "evalsha",
        "publish",
        "evalsha",
      ]);
      let locked = false;
      expect(await count(() => s.updateMeeting(j.meeting.meeting_sid, { locked: (locked = !locked) }))).toEqual([
        "evalsha",
        "publish",
        "evalsha",
      ]);
      const join = () => s.join({ meetingKey: "k", accountSid: "x", meetingRoomSid: null, nodeId: "n", call: call("host") });
      expect(await count(join)).toEqual(["evalsha", "publish", "evalsha"]);
      const leaving = (await join()) as { call: { call_sid: string } };
      const other = (await join()) as { call: { call_sid: string } };
      sent.length = 0;
      await s.leave(leaving.call.call_sid);
      await Bun.sleep(10);
      expect(sent).toEqual(["evalsha", "publish", "evalsha"]);
      await s.leave(other.call.call_sid);
      const end = async () => {
        const r = await join();
        if (r.ok) await s.endMeeting(r.meeting.meeting_sid);
      };
      await end();
      const fresh = await join();
      await Bun.sleep(10);
      sent.length = 0;
      if (fresh.ok) await s.endMeeting(fresh.meeting.meeting_sid);
      await Bun.sleep(10);
      expect(sent).toEqual(["evalsha", "publish", "evalsha"]);
    } finally {
      await s.close();
      await conn.quit();
    }
  });

  test("a script unknown to the server (NOSCRIPT) is sent by its text instead", async () => {
    const calls: string[] = [];
    const fake = {
      evalsha: async () => {
        calls.push("evalsha");
        throw new Error("NOSCRIPT No matching script. Please use EVAL.");
      },
      eval: async (lua: string) => {
        calls.push(lua.includes("ZRANGEBYSCORE") ? "eval:reap" : "eval:?");
        return [];
      },
    };
    expect(await runScript(fake as unknown as Redis, "reapExpired", ["p:", 0, 10])).toEqual([]);
    expect(calls).toEqual(["evalsha", "eval:reap"]);
    const failing = { evalsha: async () => Promise.reject(new Error("ERR something else")), eval: fake.eval };
    await expect(runScript(failing as unknown as Redis, "reapExpired", ["p:", 0, 10])).rejects.toThrow("something else");
  });

  test("two processes joining one key at the same instant make one meeting", async () => {
    const p = prefix();
    const startAt = Date.now() + 700;
    const worker = new URL("./testing/join-worker.ts", import.meta.url).pathname;
    const spawn = (id: string) =>
      Bun.spawn(["bun", "run", worker, TEST_REDIS_URL, p, "xproc", "100", String(startAt), id], {
        stdout: "pipe",
        stderr: "inherit",
      });
    const procs = [spawn("w1"), spawn("w2")];
    const outputs = await Promise.all(
      procs.map(async (proc) => {
        const out = await new Response(proc.stdout).text();
        expect(await proc.exited).toBe(0);
        return JSON.parse(out) as { meeting_sid: string; created: boolean }[];
      }),
    );
    const all = outputs.flat();
    expect(all).toHaveLength(200);
    expect(new Set(all.map((r) => r.meeting_sid)).size).toBe(1);
    expect(all.filter((r) => r.created)).toHaveLength(1);
    const s = createSessionStore({ redisUrl: TEST_REDIS_URL, prefix: p });
    try {
      const m = await s.getMeetingByKey("xproc");
      expect(m?.attendees).toEqual({ hosts: 0, listeners: 100, participants: 100 });
    } finally {
      await s.close();
    }
  }, 20_000);
});
