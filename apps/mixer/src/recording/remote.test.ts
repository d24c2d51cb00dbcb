import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAlaw, decodeUlaw, goertzelAmplitude } from "@conf/media";
import { RtpPortPool } from "../rtp-socket.ts";
import { SipUa } from "@conf/sip";
import { type OutboundPolicy, STRICT_POLICY } from "@conf/outbound";
import { type Recorder, startRemoteRecording } from "./index.ts";

/** The recorders of these tests listen on loopback: the operator's lab setting (OUTBOUND_ALLOW_PRIVATE=1). */
const LAB: OutboundPolicy = { ...STRICT_POLICY, allowPrivate: true };
import { hasNetSip, NetSipRecorder } from "./net-sip-recorder.ts";
import { RawUas } from "./test-uas.ts";

/**
 * Remote recording against two recording servers on 127.0.0.1: Net::SIP (a real SIP
 * stack, Debian libnet-sip-perl; skipped with a message when missing) and a scripted
 * raw UAS for the cases Net::SIP cannot be made to play (ringing forever, odd answers,
 * hanging up on us).
 */
if (!hasNetSip) console.warn("recording remote: Net::SIP tests skipped, perl with Net::SIP (libnet-sip-perl) is not installed");

let ua: SipUa;
let ports: RtpPortPool;
let dir: string;

beforeEach(async () => {
  ua = await SipUa.listen({ host: "127.0.0.1", port: 0, timers: { t1: 100, t2: 800 } });
  // A random even range, so parallel test files (and other helpers) rarely meet.
  const base = 30000 + 2 * Math.floor(Math.random() * 10000);
  ports = new RtpPortPool(base, base + 98);
  dir = await mkdtemp(join(tmpdir(), "conf-rec-remote-"));
});
afterEach(async () => {
  ua.close();
  await rm(dir, { recursive: true, force: true });
});

const FRAME = 320;

type RemoteOptions = Parameters<typeof startRemoteRecording>[0];

/** A remote recording from this file's UA and ports, on 127.0.0.1 under the lab policy. */
function startRec(
  o: Pick<RemoteOptions, "target" | "meetingSid" | "metadata"> & Partial<RemoteOptions>,
): ReturnType<typeof startRemoteRecording> {
  return startRemoteRecording({ outbound: LAB, ua, ports, host: "127.0.0.1", ...o });
}

/** Feeds `seconds` of a sine through one reused 16 kHz frame, one frame per 20 ms (drift-free), like the mixer clock. */
async function feedRealtime(rec: Recorder, seconds: number, freq: number, amp = 8000): Promise<number> {
  const frame = new Int16Array(FRAME);
  const frames = Math.round(seconds * 50);
  const t0 = performance.now();
  let n = 0;
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < FRAME; i++, n++) frame[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * n) / 16000));
    rec.write(frame);
    const wait = t0 + (f + 1) * 20 - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  return frames;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

/** Checks a received stream: one SSRC, sequence +1 and timestamp +160 per packet. */
function expectContinuous(pkts: readonly { seq: number; ts: number }[]): void {
  let breaks = 0;
  for (let i = 1; i < pkts.length; i++) {
    const a = pkts[i - 1] as { seq: number; ts: number };
    const b = pkts[i] as { seq: number; ts: number };
    if (b.seq !== ((a.seq + 1) & 0xffff) || b.ts !== (a.ts + 160) >>> 0) breaks++;
  }
  expect(breaks).toBe(0);
}

/** Minimum 1 kHz amplitude and maximum 1.5 kHz amplitude over 100 ms windows, skipping the first. */
function toneLevels(pcm: Int16Array, freq: number, other: number): { min: number; otherMax: number } {
  let min = Number.POSITIVE_INFINITY;
  let otherMax = 0;
  for (let off = 800; off + 800 <= pcm.length; off += 800) {
    min = Math.min(min, goertzelAmplitude(pcm, off, 800, freq, 8000));
    otherMax = Math.max(otherMax, goertzelAmplitude(pcm, off, 800, other, 8000));
  }
  return { min, otherMax };
}

function decode(payloads: readonly Uint8Array[], law: "ulaw" | "alaw"): Int16Array {
  const pcm = new Int16Array(payloads.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of payloads) {
    (law === "ulaw" ? decodeUlaw : decodeAlaw)(p, 0, pcm, off, p.length);
    off += p.length;
  }
  return pcm;
}

/** The stream's audio holds `freq` throughout (above 6500) and `other` nowhere (below 300). */
function expectTone(pkts: readonly { payload: Uint8Array }[], law: "ulaw" | "alaw", freq: number, other: number): void {
  const levels = toneLevels(
    decode(
      pkts.map((p) => p.payload),
      law,
    ),
    freq,
    other,
  );
  expect(levels.min).toBeGreaterThan(6500);
  expect(levels.otherMax).toBeLessThan(300);
}

describe.skipIf(!hasNetSip)("remote recording to Net::SIP", () => {
  test("answered PCMU call: metadata headers, ~50 pps with continuous seq/timestamps, the tone, BYE on stop", async () => {
    const peer = await NetSipRecorder.start(join(dir, "rtp.txt"), 8, "pcmu");
    try {
      const rec = startRec({
        target: `record@127.0.0.1:${peer.port}`,
        meetingSid: "CFabc123",
        metadata: "board call\r\nX-Evil: injected",
      });
      expect(rec.kind).toBe("remote");
      expect(await withTimeout(rec.ready, 5000, "ready")).toEqual({ ok: true });
      expect(ports.size).toBe(1);
      // The header arrived as one value, its line break flattened.
      await peer.waitLine(/^INVITE /);
      expect(peer.lines).toContain("INVITE CFabc123|board call  X-Evil: injected");

      const sent = await feedRealtime(rec, 3, 1000);
      const r = await withTimeout(rec.stop(), 5000, "stop");
      if (!r.ok) throw new Error(r.error);
      expect(r).toMatchObject({
        kind: "remote",
        ok: true,
        codec: "PCMU",
        packetsSent: sent,
        durationSeconds: 3,
        endedBy: "stop",
      });
      expect(r.target).toBe(`sip:record@127.0.0.1:${peer.port}`);
      expect(ports.size).toBe(0);

      await peer.waitLine(/^BYE RECEIVED$/);
      expect(await peer.exit()).toBe(0);
      expect(peer.lines).toContain("ESTABLISHED");

      const pkts = peer.packets();
      // Loopback loses nothing.
      expect(pkts.length).toBe(sent);
      expect(new Set(pkts.map((p) => p.pt))).toEqual(new Set([0]));
      expect(pkts.every((p) => p.payload.length === 160)).toBe(true);
      expectContinuous(pkts);
      // Paced at ~50 packets per second (measured where they arrive, after the first second).
      const tail = pkts.slice(50);
      const span = (tail[tail.length - 1]?.at ?? 0) - (tail[0]?.at ?? 0);
      const pps = (tail.length - 1) / span;
      expect(pps).toBeGreaterThan(45);
      expect(pps).toBeLessThan(55);

      expectTone(pkts, "ulaw", 1000, 1500);
    } finally {
      peer.kill();
    }
  }, 15000);

  test("a recorder that answers PCMA gets A-law", async () => {
    const peer = await NetSipRecorder.start(join(dir, "rtp.txt"), 8, "pcma");
    try {
      const rec = startRec({ target: `rec@127.0.0.1:${peer.port}`, meetingSid: "CF1", metadata: "m" });
      expect(await withTimeout(rec.ready, 5000, "ready")).toEqual({ ok: true });
      const sent = await feedRealtime(rec, 1, 440);
      const r = await rec.stop();
      if (!r.ok) throw new Error(r.error);
      expect(r.codec).toBe("PCMA");
      await peer.waitLine(/^BYE RECEIVED$/);
      expect(await peer.exit()).toBe(0);
      const pkts = peer.packets();
      expect(pkts.length).toBe(sent);
      expect(new Set(pkts.map((p) => p.pt))).toEqual(new Set([8]));
      expectContinuous(pkts);
      expectTone(pkts, "alaw", 440, 1000);
    } finally {
      peer.kill();
    }
  }, 15000);

  test("486 Busy Here: ready resolves with the error, nothing is sent, the port is freed, nothing throws", async () => {
    const peer = await NetSipRecorder.start(join(dir, "rtp.txt"), 8, "busy");
    try {
      const rec = startRec({ target: `rec@127.0.0.1:${peer.port}`, meetingSid: "CF2", metadata: "" });
      const frame = new Int16Array(FRAME).fill(1000);
      rec.write(frame);
      const ready = await withTimeout(rec.ready, 5000, "ready");
      expect(ready).toEqual({ ok: false, error: "recorder refused: 486 Busy Here" });
      rec.write(frame);
      const r = await rec.stop();
      expect(r).toEqual({
        kind: "remote",
        ok: false,
        error: "recorder refused: 486 Busy Here",
        target: `sip:rec@127.0.0.1:${peer.port}`,
        durationSeconds: 0,
        packetsSent: 0,
      });
      expect(await rec.stop()).toBe(r);
      expect(ports.size).toBe(0);
      await peer.waitLine(/^REJECTED$/);
      expect(await peer.exit()).toBe(0);
      expect(peer.packets()).toEqual([]);
    } finally {
      peer.kill();
    }
  }, 15000);
});

describe("remote recording to a scripted UAS", () => {
  let uas: RawUas;
  beforeEach(async () => {
    uas = await RawUas.open();
  });
  afterEach(() => uas.close());

  const start = (extra: Partial<RemoteOptions> = {}) =>
    startRec({ target: `rec@127.0.0.1:${uas.port}`, meetingSid: "CFmeet", metadata: "weekly", ...extra });

  test("INVITE carries a sendonly PCMU/PCMA offer and the headers; frames before the answer are dropped; the recorder's BYE ends it", async () => {
    const rec = start({ fromUser: "rec-bot" });
    const invite = await uas.waitRequest("INVITE");
    expect(invite.uri).toBe(`sip:rec@127.0.0.1:${uas.port}`);
    expect(invite.headers.get("x-meeting-sid")).toBe("CFmeet");
    expect(invite.headers.get("x-recording-metadata")).toBe("weekly");
    expect(invite.from.uri.raw).toBe(`sip:rec-bot@127.0.0.1:${ua.address.port}`);
    const offer = RawUas.sdpOf(invite);
    expect(offer).toMatch(/m=audio \d+ RTP\/AVP 0 8\r\n/);
    expect(offer).toContain("a=sendonly");
    expect(offer).toContain("c=IN IP4 127.0.0.1");

    // Not answered yet: these frames go nowhere.
    const frame = new Int16Array(FRAME).fill(500);
    for (let i = 0; i < 10; i++) rec.write(frame);
    uas.respond(
      invite,
      200,
      "OK",
      uas.answerSdp(
        [
          [0, "PCMU/8000"],
          [101, "telephone-event/8000"],
        ],
        ["a=recvonly"],
      ),
    );
    expect(await withTimeout(rec.ready, 3000, "ready")).toEqual({ ok: true });
    await uas.waitRequest("ACK");
    const sent = await feedRealtime(rec, 0.5, 1000);
    await Bun.sleep(50);
    expect(uas.rtp.length).toBe(sent);
    expect(uas.rtp[0]?.marker).toBe(true);
    expect(uas.rtp.slice(1).some((p) => p.marker)).toBe(false);
    expect(new Set(uas.rtp.map((p) => p.ssrc)).size).toBe(1);
    expectContinuous(uas.rtp);
    expectTone(uas.rtp, "ulaw", 1000, 1500);

    uas.sendBye(invite);
    await Bun.sleep(100); // our UA answers the BYE
    for (let i = 0; i < 5; i++) rec.write(frame);
    const r = await withTimeout(rec.done, 3000, "done");
    if (!r.ok) throw new Error(r.error);
    expect(r.endedBy).toBe("remote");
    expect(r.packetsSent).toBe(sent);
    expect(await rec.stop()).toBe(r);
    await Bun.sleep(50);
    expect(uas.rtp.length).toBe(sent);
    expect(uas.count("BYE")).toBe(0);
    expect(ports.size).toBe(0);
  }, 10000);

  test("stop while ringing: CANCEL, ready resolves with an error, the port is freed", async () => {
    const rec = start();
    const invite = await uas.waitRequest("INVITE");
    uas.respond(invite, 180, "Ringing");
    await Bun.sleep(50);
    const r = await rec.stop();
    expect(r.ok).toBe(false);
    expect(await rec.ready).toEqual({ ok: false, error: "stopped before the recorder answered" });
    const cancel = await uas.waitRequest("CANCEL");
    uas.respond(cancel, 200, "OK");
    uas.respond(invite, 487, "Request Terminated");
    await uas.waitRequest("ACK");
    expect(ports.size).toBe(0);
  }, 10000);

  test("a 2xx that crosses stop() is hung up at once", async () => {
    const rec = start();
    const invite = await uas.waitRequest("INVITE");
    await rec.stop();
    uas.respond(invite, 200, "OK", uas.answerSdp([[0, "PCMU/8000"]]));
    await uas.waitRequest("ACK");
    await uas.waitRequest("BYE");
    rec.write(new Int16Array(FRAME));
    await Bun.sleep(50);
    expect(uas.rtp.length).toBe(0);
    expect(ports.size).toBe(0);
  }, 10000);

  test("no answer within answerTimeoutMs: CANCEL and an error", async () => {
    const rec = start({ answerTimeoutMs: 300 });
    const invite = await uas.waitRequest("INVITE");
    uas.respond(invite, 180, "Ringing");
    expect(await withTimeout(rec.ready, 3000, "ready")).toEqual({ ok: false, error: "no answer within 300 ms" });
    await uas.waitRequest("CANCEL");
    expect(ports.size).toBe(0);
  }, 10000);

  test("an answer we cannot use (no common codec, inactive) is hung up with an error", async () => {
    const rec = start();
    const invite = await uas.waitRequest("INVITE");
    uas.respond(invite, 200, "OK", uas.answerSdp([[9, "G722/8000"]]));
    expect(await withTimeout(rec.ready, 3000, "ready")).toEqual({ ok: false, error: "recorder answer: no common codec" });
    await uas.waitRequest("BYE");
    expect(ports.size).toBe(0);

    const uas2 = await RawUas.open();
    try {
      const rec2 = start({ target: `rec@127.0.0.1:${uas2.port}` });
      const inv2 = await uas2.waitRequest("INVITE");
      uas2.respond(inv2, 200, "OK", uas2.answerSdp([[0, "PCMU/8000"]], ["a=inactive"]));
      expect(await withTimeout(rec2.ready, 3000, "ready")).toEqual({ ok: false, error: "recorder does not accept audio" });
      await uas2.waitRequest("BYE");
    } finally {
      uas2.close();
    }
  }, 10000);

  test("send-time outbound policy: an internal address, or a name resolving to one, fails before any INVITE", async () => {
    const literal = start({ outbound: STRICT_POLICY, target: `rec@127.0.0.1:${uas.port}` });
    expect(await literal.ready).toEqual({ ok: false, error: "recording_addr names a loopback address" });
    const lookups: string[] = [];
    const byName = start({
      outbound: STRICT_POLICY,
      target: "rec@recorder.example.com:5080",
      lookup: async (host) => {
        lookups.push(host);
        return ["93.184.216.34", "10.0.0.7"];
      },
    });
    expect(await byName.ready).toEqual({ ok: false, error: "recording_addr recorder.example.com resolves to a private address" });
    expect(lookups).toEqual(["recorder.example.com"]);
    const unresolvable = start({
      outbound: STRICT_POLICY,
      target: "rec@nowhere.example.com",
      lookup: async () => {
        throw new Error("ENOTFOUND");
      },
    });
    expect(await unresolvable.ready).toEqual({ ok: false, error: "recording_addr nowhere.example.com does not resolve" });
    // The operator's allowlist lets a lab recorder through.
    const allowed = start({
      outbound: { ...STRICT_POLICY, allowlist: [{ kind: "name", name: "recorder.lab.example" }] },
      target: "rec@recorder.lab.example:5080",
      lookup: async () => ["10.0.0.7"],
    });
    await Bun.sleep(50);
    await allowed.stop();
    // Past the policy: whatever ends it now (the name does not exist), it is not the policy.
    const passed = await allowed.ready;
    expect(passed.ok ? "" : passed.error).not.toStartWith("recording_addr");
    for (const rec of [literal, byName, unresolvable]) expect((await rec.stop()).packetsSent).toBe(0);
    await Bun.sleep(100);
    expect(uas.requests.length).toBe(0);
  });

  test("unusable recording_addr values fail at once: no INVITE, no port", async () => {
    for (const target of [
      "",
      "rec@127.0.0.1;transport=tcp",
      `rec@127.0.0.1:${uas.port}?X-Evil=1`,
      "tel:+15551230000",
      "rec@127.0.0.1\r\nX: 1",
    ]) {
      const rec = start({ target });
      const ready = await rec.ready;
      expect(ready.ok).toBe(false);
      const r = await rec.stop();
      expect(r).toMatchObject({ kind: "remote", ok: false, target: null, packetsSent: 0 });
    }
    const self = start({ target: `rec@127.0.0.1:${ua.address.port}` });
    expect(await self.ready).toEqual({ ok: false, error: "recording_addr points at this mixer" });
    await Bun.sleep(100);
    expect(uas.requests.length).toBe(0);
    expect(ports.size).toBe(0);
  });

  test("write allocates nothing per tick while sending", async () => {
    const rec = start();
    const invite = await uas.waitRequest("INVITE");
    uas.respond(invite, 200, "OK", uas.answerSdp([[0, "PCMU/8000"]]));
    await rec.ready;
    const frame = new Int16Array(FRAME).fill(700);
    for (let i = 0; i < 50; i++) rec.write(frame);
    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 500; i++) rec.write(frame);
    const after = process.memoryUsage().heapUsed;
    // 500 packets of 172 bytes would be 86 kB if each allocated its own buffer.
    expect(after - before).toBeLessThan(16_384);
    await rec.stop();
  }, 10000);
});
