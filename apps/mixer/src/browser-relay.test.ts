import { describe, expect, test } from "bun:test";
import { RtpSender } from "@conf/media";
import { RelayedCall } from "./browser-relay.ts";
import type { CallSession } from "./call.ts";
import type { RtpSocket } from "./rtp-socket.ts";

/** An owner's packet: seq, timestamp, SSRC, one payload byte. */
function packet(seq: number, ts: number, ssrc: number): Uint8Array {
  const b = new Uint8Array(13);
  b[0] = 0x80;
  b[1] = 111;
  new DataView(b.buffer).setUint16(2, seq);
  new DataView(b.buffer).setUint32(4, ts);
  new DataView(b.buffer).setUint32(8, ssrc);
  b[12] = 7;
  return b;
}

function header(b: Uint8Array): { seq: number; ts: number; ssrc: number } {
  const v = new DataView(b.buffer, b.byteOffset);
  return { seq: v.getUint16(2), ts: v.getUint32(4), ssrc: v.getUint32(8) };
}

function relayed(sender: RtpSender) {
  const toBrowser: Uint8Array[] = [];
  const toOwner: { port: number; address: string }[] = [];
  const leg = { send: (b: Uint8Array) => toBrowser.push(Uint8Array.from(b)) };
  const call = { sender, rtp: leg, latch: { port: 5000, address: "127.0.0.1" } } as unknown as CallSession;
  const socket = {
    send: (_b: Uint8Array, port: number, address: string) => toOwner.push({ port, address }),
  } as unknown as RtpSocket;
  return { entry: new RelayedCall(call, socket, "w1", "h1"), toBrowser, toOwner };
}

describe("RelayedCall", () => {
  test("the owner's stream continues the front's: its SSRC, the next sequence number and timestamp, in step after", () => {
    const sender = new RtpSender({
      payloadType: 111,
      samplesPerFrame: 960,
      ssrc: 0xdeadbeef,
      sequence: 65534,
      timestamp: 4294967000,
    });
    const { entry, toBrowser } = relayed(sender);
    entry.fromOwner(packet(100, 5000, 42));
    entry.fromOwner(packet(101, 5960, 42));
    entry.fromOwner(packet(103, 7880, 42));
    expect(toBrowser.map(header)).toEqual([
      { seq: 65534, ts: 4294967000, ssrc: 0xdeadbeef },
      { seq: 65535, ts: 664, ssrc: 0xdeadbeef },
      { seq: 1, ts: 2584, ssrc: 0xdeadbeef },
    ]);
    expect(toBrowser[0]?.[12]).toBe(7);
    expect(entry.toBrowser).toBe(3);
  });

  test("the browser's packets go to the owner's port once it is known, and not before", () => {
    const { entry, toOwner } = relayed(new RtpSender({ payloadType: 111 }));
    entry.fromBrowser(packet(1, 1, 1));
    expect(toOwner).toEqual([]);
    entry.ownerAddress = "127.0.0.1";
    entry.ownerPort = 40000;
    entry.fromBrowser(packet(2, 2, 1));
    expect(toOwner).toEqual([{ port: 40000, address: "127.0.0.1" }]);
  });

  test("a packet shorter than an RTP header is dropped", () => {
    const { entry, toBrowser } = relayed(new RtpSender({ payloadType: 111 }));
    entry.fromOwner(new Uint8Array(8));
    expect(toBrowser).toEqual([]);
  });
});
