/**
 * The node's domain events, from a real call on real UDP: answered, code keyed (SIP
 * INFO), joined, talking (loud RTP), silent, muted by the API, hung up.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { encodeUlaw } from "@conf/media";
import { RawPeer } from "@conf/sip/test-peer";
import { type DomainEvent, DomainEvents } from "./domain-events.ts";
import { answeredCall, CODE, hangUp, keyInfo, startTestNode, until } from "./test-node.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** PCMU frames of a loud 440 Hz tone and of silence. */
function frames(): { loud: Uint8Array; quiet: Uint8Array } {
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcm[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  const loud = new Uint8Array(160);
  encodeUlaw(pcm, 0, loud, 0, 160);
  return { loud, quiet: new Uint8Array(160).fill(0xff) };
}

describe("domain events", () => {
  test("a call through a node: entered, meeting started, joined, talker started and stopped, updated, left, meeting ended", async () => {
    const nodeId = `events-${crypto.randomUUID()}`;
    const { node, store, close } = await startTestNode({ nodeId, rtpPortMin: 46000 + Math.floor(Math.random() * 100) * 40 });
    const seen: DomainEvent[] = [];
    node.events.on("*", (e) => seen.push(e));
    cleanups.push(close);
    const peer = await RawPeer.open();
    cleanups.push(() => peer.close());
    // The node's socket closes at the BYE: the ICMP errors that follow are no failure here.
    const rtp: udp.Socket<"buffer"> = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {}, error() {} } });
    cleanups.push(() => rtp.close());

    const call = await answeredCall(peer, node, { callId: `events-${crypto.randomUUID()}`, rtpPort: rtp.port });

    // The caller's RTP, 20 ms apart: quiet until `loud` is set.
    const { loud, quiet } = frames();
    let talking = false;
    const pkt = new Uint8Array(12 + 160);
    pkt[0] = 0x80;
    pkt[11] = 7;
    let seq = 0;
    const sender = setInterval(() => {
      seq++;
      pkt[2] = (seq >> 8) & 0xff;
      pkt[3] = seq & 0xff;
      const ts = seq * 160;
      pkt[4] = (ts >>> 24) & 0xff;
      pkt[5] = (ts >>> 16) & 0xff;
      pkt[6] = (ts >>> 8) & 0xff;
      pkt[7] = ts & 0xff;
      pkt.set(talking ? loud : quiet, 12);
      rtp.send(pkt, call.rtpPort, "127.0.0.1");
    }, 20);
    cleanups.push(() => clearInterval(sender));

    await keyInfo(peer, node, call, `${CODE}#`);
    await until(() => seen.some((e) => e.type === "call.joined"), 5000, "the join");
    const joined = seen.find((e) => e.type === "call.joined");
    if (joined?.type !== "call.joined") throw new Error("no join");
    expect(joined.call.role).toBe("host");
    expect(joined.call.meeting_sid).toBe(joined.meetingSid);

    talking = true;
    await until(() => seen.some((e) => e.type === "talker.started"), 3000, "talker started");
    talking = false;
    await until(() => seen.some((e) => e.type === "talker.stopped"), 3000, "talker stopped");

    await store.control.send(nodeId, { type: "call_mute", meetingSid: joined.meetingSid, callSid: joined.callSid, muted: true });
    await until(() => seen.some((e) => e.type === "call.updated"), 2000, "the update");

    clearInterval(sender);
    hangUp(peer, node, call);
    await until(() => seen.some((e) => e.type === "meeting.ended"), 3000, "the meeting's end");

    expect(seen.map((e) => e.type)).toEqual([
      "call.entered",
      "meeting.started",
      "call.joined",
      "talker.started",
      "talker.stopped",
      "call.updated",
      "call.left",
      "meeting.ended",
    ]);
    const sid = joined.callSid;
    for (const e of seen) if ("callSid" in e) expect(e.callSid).toBe(sid);
    const updated = seen.find((e) => e.type === "call.updated");
    expect(updated?.type === "call.updated" && updated.call.muted).toBe(true);
    const left = seen.find((e) => e.type === "call.left");
    expect(left?.type === "call.left" && left.reason).toBe("remote");
    expect(left?.type === "call.left" && left.meetingSid).toBe(joined.meetingSid);
  }, 20_000);
});

describe("DomainEvents", () => {
  test("listeners by type and for all; a throwing listener is reported and the others still run; unsubscribe", () => {
    const errors: string[] = [];
    const events = new DomainEvents((_err, e) => errors.push(e.type));
    const got: string[] = [];
    const off = events.on("talker.started", (e) => got.push(`own ${e.callSid}`));
    events.on("*", () => {
      throw new Error("boom");
    });
    events.on("*", (e) => got.push(`any ${e.type}`));
    expect(events.wants("talker.started")).toBe(true);
    events.emit({ type: "talker.started", meetingSid: "M", callSid: "C" });
    off();
    events.emit({ type: "talker.started", meetingSid: "M", callSid: "D" });
    expect(got).toEqual(["own C", "any talker.started", "any talker.started"]);
    expect(errors).toEqual(["talker.started", "talker.started"]);
  });
});
