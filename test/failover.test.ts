/**
 * End to end: failover. A mixer front with two worker processes (MIXER_WORKERS=2); two
 * phones called the front and were handed over to the worker that mixes their meeting,
 * a third called that worker directly. The worker is killed (SIGKILL): within seconds
 * the front re-INVITEs the two phones to the live worker, they hear each other again,
 * the API shows both calls in the same meeting (same sids, same state), the third call
 * (its dialog died with the worker) is gone from the API, and hang-up still works.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "./lib/service.ts";
import { HEARD_DB, HOST_HZ, LIST_HZ, MeetingHarness, PART_HZ, type Phone } from "./lib/meeting-harness.ts";

let h: MeetingHarness;

beforeAll(async () => {
  h = await MeetingHarness.start({ number: "15162065991", env: { MIXER_WORKERS: "2" } });
}, 60_000);
afterEach(async () => h.clear());
afterAll(async () => h.stop());

/** The pid of the process whose environment has NODE_ID=`nodeId` (a worker the front spawned). */
function pidOf(nodeId: string): number {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, "utf8").split("\0");
      if (env.includes(`NODE_ID=${nodeId}`)) return Number(d);
    } catch {
      // gone, or not ours to read
    }
  }
  throw new Error(`no process of node ${nodeId}`);
}

describe("failover", () => {
  test("a killed worker's handed-over callers move to the live worker, keep their meeting and hear each other", async () => {
    const room = await h.room("failover", {});
    const a = h.phone(HOST_HZ);
    const b = h.phone(PART_HZ);
    const ca = await h.dialIn(a, room.host);
    const cb = await h.dialIn(b, room.participant);
    expect(cb.meeting_sid).toBe(ca.meeting_sid);
    const meetingSid = ca.meeting_sid;
    const taken = await eventually(
      async () => {
        const m = [...h.svc.output().matchAll(/mixer (\S+-w\d+): call \S+ taken over from/g)].map((x) => x[1] as string);
        return m.length >= 2 ? m : null;
      },
      5000,
      "two hand-overs",
    );
    const worker = taken[0] as string;
    expect(taken[1]).toBe(worker);

    // A third caller dials the worker itself: joined there, not handed over, so its dialog
    // dies with the worker and nobody can save it; its record must go.
    const port = Number(
      h.svc
        .output()
        .match(new RegExp(`mixer ${worker.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: SIP on udp 127\\.0\\.0\\.1:(\\d+)`))?.[1],
    );
    expect(port).toBeGreaterThan(0);
    const c = h.phone(LIST_HZ);
    const cc = await h.dialIn(c, room.listener, port);
    expect(cc.meeting_sid).toBe(meetingSid);

    // Meeting-wide state the store has: listeners on hold.
    const patched = await h.acct.account.req("PATCH", `/conference/v2/meetings/${meetingSid}`, { on_hold: "l" });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);

    await Bun.sleep(1500);
    const killedAt = Date.now();
    process.kill(pidOf(worker), "SIGKILL");

    // Both phones are re-INVITEd to the other worker and rejoin the same meeting there.
    const rejoined = await eventually(
      async () => {
        const out = h.svc.output();
        const n = [...out.matchAll(/mixer (\S+-w\d+): call (\S+) rejoined meeting (\S+) here/g)];
        return n.length >= 2 ? n : null;
      },
      8000,
      "both calls rejoined",
    );
    const movedInMs = Date.now() - killedAt;
    console.log(`failover: both calls rejoined ${movedInMs} ms after the kill`);
    expect(movedInMs).toBeLessThan(5000);
    for (const m of rejoined) {
      expect(m[1]).not.toBe(worker);
      expect(m[3]).toBe(meetingSid);
    }
    expect(new Set(rejoined.map((m) => m[2]))).toEqual(new Set([ca.call_sid, cb.call_sid]));

    // The API: the same meeting with both calls and its state; the worker's own caller is gone.
    await eventually(
      async () => {
        const calls = await h.calls();
        return calls.length === 2 && calls.every((x) => x.meeting_sid === meetingSid) ? calls : null;
      },
      8000,
      "two calls in the meeting, the third gone",
    );
    const calls = await h.calls();
    expect(calls.map((x) => x.call_sid).sort()).toEqual([ca.call_sid, cb.call_sid].sort());
    expect(calls.find((x) => x.call_sid === ca.call_sid)?.role).toBe("host");
    expect(calls.find((x) => x.call_sid === cb.call_sid)?.role).toBe("participant");
    const meeting = await h.meeting(meetingSid);
    expect(meeting?.on_hold).toBe("l");
    expect(meeting?.attendees).toEqual({ hosts: 1, participants: 1, listeners: 0 });

    // They hear each other again.
    await Bun.sleep(3000);
    const window = (p: Phone) => [p.at() - 2.5, p.at() - 0.5] as const;
    const [fromA, toA] = window(a);
    const [fromB, toB] = window(b);

    // Hang-up still works: BYE to the new Contact, the API follows.
    await b.hangup();
    await eventually(async () => !(await h.calls()).some((x) => x.call_sid === cb.call_sid), 5000, "b's call gone");
    expect((await h.meeting(meetingSid))?.attendees).toEqual({ hosts: 1, participants: 0, listeners: 0 });
    await h.finish(meetingSid, [a, b, c]);

    expect(a.level(PART_HZ, fromA, toA)).toBeGreaterThan(HEARD_DB);
    expect(b.level(HOST_HZ, fromB, toB)).toBeGreaterThan(HEARD_DB);
  }, 60_000);

  test("a caller handed over by another mixer node moves too: that node finds the worker unheard and joins the same meeting's new owner", async () => {
    const node: Subprocess<"ignore", "pipe", "inherit"> = Bun.spawn(
      ["bun", "run", join(import.meta.dir, "..", "apps", "mixer", "src", "main.ts")],
      {
        env: {
          ...process.env,
          ...h.svc.backing,
          SIP_HOST: "127.0.0.1",
          SIP_PORT: "0",
          RTP_PORT_MIN: "33200",
          RTP_PORT_MAX: "33399",
          NODE_ID: "failover-second-node",
        },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    let out = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const c of node.stdout) out += dec.decode(c);
    })();
    try {
      const port = Number(
        (await eventually(async () => out.match(/SIP on udp 127\.0\.0\.1:(\d+)/), 20_000, "the second node"))[1],
      );
      const room = await h.room("failover-nodes", {});
      const a = h.phone(HOST_HZ);
      const b = h.phone(PART_HZ);
      const ca = await h.dialIn(a, room.host);
      const cb = await h.dialIn(b, room.participant, port);
      expect(cb.meeting_sid).toBe(ca.meeting_sid);
      const worker = (await eventually(async () => out.match(/handed over to (\S+-w\d)/), 5000, "the hand-over"))[1] as string;
      await Bun.sleep(1000);
      const since = h.svc.output().length;
      const after = () => h.svc.output().slice(since);
      const killedAt = Date.now();
      process.kill(pidOf(worker), "SIGKILL");
      // The second node has no process to watch: it notices the silence (3 s by default).
      await eventually(
        async () => [...after().matchAll(/call (\S+) rejoined meeting (\S+) here/g)].length >= 2 || null,
        10_000,
        "both calls rejoined",
      );
      const movedInMs = Date.now() - killedAt;
      console.log(`failover across nodes: both calls rejoined ${movedInMs} ms after the kill`);
      expect(out).toContain(`node ${worker} has not listened`);
      // On the live worker, or on the front itself when the first test left no live worker:
      // either way one node, where both calls meet.
      const rejoined = [...after().matchAll(/^mixer(?: (\S+))?: call (\S+) rejoined meeting (\S+) here/gm)];
      expect(rejoined.length).toBe(2);
      expect(new Set(rejoined.map((m) => m[1] ?? "front")).size).toBe(1);
      expect(new Set(rejoined.map((m) => m[3]))).toEqual(new Set([ca.meeting_sid]));
      const calls = await h.calls();
      expect(calls.map((x) => x.call_sid).sort()).toEqual([ca.call_sid, cb.call_sid].sort());
      expect(calls.every((x) => x.meeting_sid === ca.meeting_sid)).toBe(true);
      await Bun.sleep(3000);
      const [from, to] = [a.at() - 2.5, a.at() - 0.5];
      await h.finish(ca.meeting_sid, [a, b]);
      expect(a.level(PART_HZ, from, to)).toBeGreaterThan(HEARD_DB);
    } finally {
      node.kill("SIGTERM");
      await node.exited;
    }
  }, 60_000);
});
