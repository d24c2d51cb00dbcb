import { describe, expect, test } from "bun:test";
import { CallSession, type CallParty } from "./call.ts";
import { RtpLatch } from "@conf/media";
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
