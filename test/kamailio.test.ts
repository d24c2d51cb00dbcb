/**
 * End to end: the documented scale-out front, Debian's Kamailio running
 * `deploy/kamailio/kamailio.cfg`, before three mixer nodes of one service. Callers dial
 * the proxy only. It spreads them round robin; a node that is full (every RTP port
 * taken: it answers 503) or silent is skipped; OPTIONS probes take a stopped node out.
 * Callers that landed on different nodes end up in one meeting (the hand-over re-INVITE
 * goes through the proxy's Record-Route), hear each other, and their keys and BYE reach
 * the node that mixes them, also once the node that answered them is gone.
 *
 * Addresses: phones 127.0.0.1, the proxy 127.0.0.4, the service's own mixer (full)
 * 127.0.0.2, two `start:mixer` nodes 127.0.0.3 and 127.0.0.5, a silent one 127.0.0.6.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kamailio, kamailioBinaries } from "./lib/kamailio.ts";
import { ABSENT_DB, HEARD_DB, HOST_HZ, LIST_HZ, MeetingHarness, PART_HZ, type Phone } from "./lib/meeting-harness.ts";
import { MixerNode } from "./lib/mixer-node.ts";
import { eventually } from "./lib/service.ts";

const PROXY = "127.0.0.4";
const FULL = "127.0.0.2";
const NODES = [
  { nodeId: "node-b", host: "127.0.0.3" },
  { nodeId: "node-c", host: "127.0.0.5" },
] as const;
const SILENT = "127.0.0.6";
const FLOODER = "127.0.0.7";
const THIRD_HZ = 1800;

const bins = kamailioBinaries();
if (!bins) {
  console.warn("kamailio.test.ts: SKIPPED, kamailio is not installed (Debian: apt-get install kamailio; .ci/run installs it)");
}

/** An even UDP port on `host`, held so that a node given only this port has none free. */
async function holdEvenPort(host: string): Promise<{ port: number; close(): void }> {
  for (let tries = 0; tries < 100; tries++) {
    const port = 34000 + 2 * Math.floor(Math.random() * 3000);
    try {
      const s = await Bun.udpSocket({ hostname: host, port });
      return { port, close: () => s.close() };
    } catch {
      // taken: another
    }
  }
  throw new Error(`no free even port on ${host}`);
}

/** Call sids a node's log says it answered: handed over from there, or joined there without a hand-over. */
function answeredBy(log: string): Set<string> {
  const sids = (re: RegExp) => new Set([...log.matchAll(re)].map((m) => m[1] as string));
  const takenOver = sids(/call (\S+) taken over from/g);
  const joined = [...sids(/call (\S+) joined meeting/g)].filter((s) => !takenOver.has(s));
  return new Set([...sids(/call (\S+) handed over to/g), ...joined]);
}

describe.skipIf(!bins)("Kamailio dispatcher before many mixer nodes", () => {
  let h: MeetingHarness;
  let held: { port: number; close(): void };
  const nodes = new Map<string, { node: MixerNode; uri: string }>();
  let proxy: Kamailio;

  beforeAll(async () => {
    held = await holdEvenPort(FULL);
    // The service (API + a mixer) with a mixer that can never open an RTP port: a full node.
    h = await MeetingHarness.start({
      number: "15162065995",
      env: {
        SIP_HOST: FULL,
        RTP_PORT_MIN: String(held.port),
        RTP_PORT_MAX: String(held.port),
        SIP_TRUSTED_SOURCES: PROXY,
        NODE_ID: "node-full",
      },
    });
    const started = await Promise.all(
      NODES.map((n) =>
        MixerNode.start(h.svc, { ...n, rtpPortMin: 33000, rtpPortMax: 33199, env: { SIP_TRUSTED_SOURCES: PROXY } }),
      ),
    );
    for (const s of started) nodes.set(s.node.nodeId, { node: s.node, uri: `sip:${s.node.host}:${s.sipPort}` });
    proxy = await Kamailio.start({
      host: PROXY,
      nodes: [`sip:${FULL}:${h.svc.sipPort}`, ...[...nodes.values()].map((n) => n.uri)],
      pingIntervalS: 1,
      inviteTimeoutMs: 1500,
    });
  }, 60_000);

  afterAll(async () => {
    if (process.env.E2E_KEEP) console.log(`kamailio output:\n${proxy?.output()}`);
    await proxy?.stop();
    for (const { node } of nodes.values()) await node.stop();
    await h?.stop();
    held?.close();
  }, 30_000);

  const dial = (p: Phone, code: string) => h.dialIn(p, code, proxy.port, PROXY);

  test("callers land on both nodes, meet in one meeting, hear each other; keys and BYE reach the mixing node, also after their node stops", async () => {
    const room = await h.room("kamailio", {});
    const host = h.phone(HOST_HZ);
    const p1 = h.phone(PART_HZ);
    const p2 = h.phone(LIST_HZ);
    // Round robin over three nodes: each is first choice once; the full one passes its caller on.
    const c0 = await dial(host, room.host);
    const c1 = await dial(p1, room.participant);
    const c2 = await dial(p2, room.participant);
    expect(new Set([c0.meeting_sid, c1.meeting_sid, c2.meeting_sid]).size).toBe(1);
    const meetingSid = c0.meeting_sid;

    // The full node was tried once and answered 503; the proxy went on to the next node.
    expect(h.svc.output()).toContain("no RTP port");
    expect(proxy.output()).toMatch(/answered 503; trying the next one/);
    // Both working nodes answered calls; the meeting is mixed on the host's node only.
    const [b, c] = [...nodes.values()].map((n) => n.node);
    const landed = await eventually(
      async () => {
        const l = [b!, c!].map((n) => answeredBy(n.output()));
        return l[0]!.size + l[1]!.size === 3 ? l : null;
      },
      5000,
      "every call's node in the logs",
    );
    expect(landed[0]!.size).toBeGreaterThan(0);
    expect(landed[1]!.size).toBeGreaterThan(0);
    const owner = landed[0]!.has(c0.call_sid) ? b! : c!;
    const front = owner === b ? c! : b!;
    const moved = owner === b ? landed[1]! : landed[0]!;
    expect(owner.output()).toContain(`joined meeting ${meetingSid}`);
    expect(front.output()).not.toContain("joined meeting");
    const movedPhone = [p1, p2].find((p) => moved.has(p.callSid))!;
    expect(movedPhone).toBeDefined();
    expect(owner.output()).toContain(`call ${movedPhone.callSid} taken over from ${front.nodeId}`);

    await Bun.sleep(3000);
    const window = (p: Phone) => [p.at() - 2.5, p.at() - 0.5] as const;
    const windows = new Map([host, p1, p2].map((p) => [p, window(p)]));

    // A key of a moved phone travels in its RTP, now to the owner's port.
    await h.untilMuted(movedPhone, false);
    movedPhone.keys("*6");
    await h.untilMuted(movedPhone, true);

    // The node that answered it stops; its call lives on at the owner. OPTIONS probes
    // take the stopped node out of the proxy's rotation.
    await front.stop();
    const frontUri = nodes.get(front.nodeId)!.uri;
    await eventually(async () => (await proxy.nodeFlags()).get(frontUri)?.startsWith("I"), 8000, "the stopped node inactive");
    const ownerUri = nodes.get(owner.nodeId)!.uri;
    expect((await proxy.nodeFlags()).get(ownerUri)).toStartWith("A");
    expect(proxy.output()).toContain(`mixer node ${frontUri} is down`);

    // Its key and its BYE go through the proxy to the owner, not to the stopped node.
    movedPhone.keys("*6");
    await h.untilMuted(movedPhone, false);
    await movedPhone.hangup();
    await eventually(async () => !(await h.calls()).some((x) => x.call_sid === movedPhone.callSid), 5000, "the call gone");
    expect(owner.output()).toContain(`call ${movedPhone.callSid} ended (remote)`);
    // ... through the proxy, along its Record-Route, to the owner's Contact.
    const ownerAt = ownerUri.slice("sip:".length);
    expect(proxy.output()).toMatch(
      new RegExp(`BYE from 127\\.0\\.0\\.1:\\d+ to sip:(\\S+@)?${ownerAt.replaceAll(".", "\\.")}\\b`),
    );

    // A new caller still gets in: the full node refuses, the stopped one is skipped.
    const late = h.phone(THIRD_HZ);
    const c3 = await dial(late, room.participant);
    expect(c3.meeting_sid).toBe(meetingSid);
    expect(owner.output()).toContain(`call ${c3.call_sid} joined meeting ${meetingSid}`);

    await h.finish(
      meetingSid,
      [host, p1, p2, late].filter((p) => p !== movedPhone),
    );
    await movedPhone.stop();
    for (const p of [host, p1, p2]) {
      const [from, to] = windows.get(p)!;
      for (const other of [host, p1, p2]) {
        if (other === p) expect(p.level(other.toneHz, from, to)).toBeLessThan(ABSENT_DB);
        else expect(p.level(other.toneHz, from, to)).toBeGreaterThan(HEARD_DB);
      }
    }
  }, 60_000);

  test("one source sending much faster than PIKE_REQS per two seconds is ignored", async () => {
    // Its own address, so the phones of the other tests are not blocked with it.
    const answers: string[] = [];
    const sock = await Bun.udpSocket({
      hostname: FLOODER,
      port: 0,
      socket: {
        data: (_s, buf) => {
          answers.push(buf.toString().split("\r\n")[0] ?? "");
        },
      },
    });
    try {
      for (let i = 0; i < 100; i++) {
        const req = [
          `OPTIONS sip:${PROXY}:${proxy.port} SIP/2.0`,
          `Via: SIP/2.0/UDP ${FLOODER}:${sock.port};branch=z9hG4bK-flood-${i}`,
          "Max-Forwards: 70",
          `From: <sip:flood@${FLOODER}>;tag=f${i}`,
          `To: <sip:${PROXY}>`,
          `Call-ID: flood-${i}@${FLOODER}`,
          `CSeq: ${i + 1} OPTIONS`,
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n");
        sock.send(req, proxy.port, PROXY);
      }
      await Bun.sleep(500);
      expect(answers.every((a) => a === "SIP/2.0 200 OK")).toBe(true);
      // The default PIKE_REQS is 20; pike blocks somewhere between that and three times
      // that (its sampling is coarse): the rest of the 100 go unanswered.
      expect(answers.length).toBeGreaterThanOrEqual(20);
      expect(answers.length).toBeLessThanOrEqual(60);
    } finally {
      sock.close();
    }
  });

  test("a node that answers nothing is skipped after INVITE_TIMEOUT_MS and taken out at once", async () => {
    const alive = [...nodes.values()].find((n) => n.node.running);
    if (!alive) throw new Error("no mixer node left running");
    // A node that takes datagrams and never answers (hung, or behind a dropping firewall).
    const silent = await Bun.udpSocket({ hostname: SILENT, port: 0 });
    const silentUri = `sip:${SILENT}:${silent.port}`;
    // Probes far apart: only the INVITE's timeout can take the silent node out here.
    const front = await Kamailio.start({ host: PROXY, nodes: [silentUri, alive.uri], pingIntervalS: 60, inviteTimeoutMs: 1500 });
    try {
      const room = await h.room("kamailio-timeout", {});
      const a = h.phone(HOST_HZ);
      const b = h.phone(PART_HZ);
      const ca = await h.dialIn(a, room.host, front.port, PROXY);
      const cb = await h.dialIn(b, room.participant, front.port, PROXY);
      expect(cb.meeting_sid).toBe(ca.meeting_sid);
      // Round robin over two nodes: one of the two INVITEs went to the silent node first,
      // timed out, and took it out of the rotation for the other.
      expect(front.output().match(/did not answer; taken out/g)?.length).toBe(1);
      expect((await front.nodeFlags()).get(silentUri)).toStartWith("I");
      await h.finish(ca.meeting_sid, [a, b]);
    } finally {
      await front.stop();
      silent.close();
    }
  }, 30_000);
});
