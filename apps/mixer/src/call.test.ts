import { describe, expect, test } from "bun:test";
import { CallSession, type CallParty } from "./call.ts";
import { OpusEncoder, RtpLatch } from "@conf/media";
import type { RtpSocket } from "./rtp-socket.ts";

const party: CallParty = {
  from: "<sip:1@x>;tag=a",
  to: "<sip:2@y>",
  displayName: "",
  callerNumber: "1",
  sourceAddress: "127.0.0.1",
};
const socket = (): RtpSocket => ({ port: 20000, latch: new RtpLatch("127.0.0.1", 40000), send() {}, expect() {}, close() {} });

function packet(seq: number, pt = 0): Uint8Array {
  const p = new Uint8Array(12 + 160);
  p[0] = 0x80;
  p[1] = pt;
  p[2] = (seq >> 8) & 0xff;
  p[3] = seq & 0xff;
  p[11] = 7; // SSRC 7
  return p;
}

function call(): CallSession {
  const media = {
    codec: "PCMU" as const,
    payloadType: 0,
    telephoneEventPt: 101,
    remoteAddress: "127.0.0.1",
    remotePort: 40000,
    send: true,
  };
  return new CallSession(party, socket(), media, new Date(), 0, () => {});
}

describe("CallSession receive counters (loss towards the mixer)", () => {
  test("a gap in the sequence is loss; wrap-around and reordering are not", () => {
    const c = call();
    for (const seq of [65533, 65534, 65535, 0, 2, 1, 3]) c.receive(packet(seq), 40000, "127.0.0.1", 0);
    expect(c.rxPackets).toBe(7);
    expect(c.rxExpected).toBe(7);
    c.receive(packet(6), 40000, "127.0.0.1", 0); // 4 and 5 lost
    expect(c.rxExpected - c.rxPackets).toBe(2);
  });

  test("packets of other payload types are not counted", () => {
    const c = call();
    c.receive(packet(10), 40000, "127.0.0.1", 0);
    c.receive(packet(12, 96), 40000, "127.0.0.1", 0);
    expect(c.rxPackets).toBe(1);
    expect(c.rxExpected).toBe(1);
    expect(call().rxExpected).toBe(0);
  });
});

describe("CallSession with Opus (dynamic payload type, 48 kHz RTP clock, variable payloads)", () => {
  function opusCall(): CallSession {
    const media = {
      codec: "OPUS" as const,
      payloadType: 96,
      telephoneEventPt: 101,
      remoteAddress: "127.0.0.1",
      remotePort: 40000,
      send: true,
    };
    return new CallSession(party, socket(), media, new Date(), 0, () => {});
  }
  function opusPacket(seq: number, payload: Uint8Array): Uint8Array {
    const p = new Uint8Array(12 + payload.length);
    p.set(packet(seq, 96).subarray(0, 12));
    p.set(payload, 12);
    return p;
  }

  test("RTP time moves 960 a frame and the jitter buffer runs on the 48000 Hz clock", () => {
    const c = opusCall();
    expect(c.sender.samplesPerFrame).toBe(960);
    expect(c.jitter.clockRate).toBe(48000);
    const ts = c.sender.timestamp;
    c.sendFrame(new Uint8Array(320), 0, 57);
    expect((c.sender.timestamp - ts) >>> 0).toBe(960);
  });

  test("its payload type is audio; a payload over 640 bytes is dropped", () => {
    const c = opusCall();
    c.receive(opusPacket(1, new Uint8Array(70)), 40000, "127.0.0.1", 0);
    c.receive(opusPacket(2, new Uint8Array(700)), 40000, "127.0.0.1", 0);
    c.receive(packet(3, 0), 40000, "127.0.0.1", 0);
    expect(c.rxPackets).toBe(2);
    expect(c.jitter.received).toBe(1);
  });

  test("a recorded name (roll call) is decoded at 16 kHz, 320 samples a packet", () => {
    const c = opusCall();
    const enc = new OpusEncoder();
    const pcm = new Int16Array(320);
    for (let i = 0; i < 320; i++) pcm[i] = Math.round(5000 * Math.sin((2 * Math.PI * 500 * i) / 16000));
    const payload = new Uint8Array(320);
    c.startNameCapture(1);
    for (let seq = 0; seq < 10; seq++) {
      const n = enc.encode(pcm, 0, payload, 0);
      c.receive(opusPacket(seq, payload.subarray(0, n)), 40000, "127.0.0.1", 0);
    }
    c.finishNameCapture();
    enc.destroy();
    expect(c.name?.length).toBe(3200);
    expect(c.name?.some((v) => Math.abs(v) > 1000)).toBe(true);
  });
});
