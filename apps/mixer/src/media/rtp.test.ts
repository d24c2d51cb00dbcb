import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { RTP_HEADER_SIZE, RtpLatch, RtpSender, createRtpHeader, parseRtp } from "./rtp.ts";

function packet(bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

const basic = [0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 1, 2, 3, 4];

describe("parseRtp", () => {
  test("plain PCMU packet", () => {
    const h = createRtpHeader();
    expect(parseRtp(packet(basic), 0, basic.length, h)).toBe(true);
    expect(h).toEqual({
      marker: false,
      payloadType: 0,
      sequence: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
      csrcCount: 0,
      extensionProfile: -1,
      payloadOffset: 12,
      payloadLength: 4,
    });
  });
  test("marker, CSRCs, extension and padding", () => {
    const bytes = [0xb2, 0xe5, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
    bytes.push(0, 0, 0, 1, 0, 0, 0, 2); // two CSRCs
    bytes.push(0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0); // one-byte header extension, 1 word
    bytes.push(7, 7, 7); // payload
    bytes.push(0, 0, 3); // 3 bytes padding
    const h = createRtpHeader();
    expect(parseRtp(packet(bytes), 0, bytes.length, h)).toBe(true);
    expect(h.marker).toBe(true);
    expect(h.payloadType).toBe(101);
    expect(h.csrcCount).toBe(2);
    expect(h.extensionProfile).toBe(0xbede);
    expect(h.payloadOffset).toBe(28);
    expect(h.payloadLength).toBe(3);
  });
  test("honours an offset into a larger buffer", () => {
    const buf = new Uint8Array(40);
    buf.set(basic, 10);
    const h = createRtpHeader();
    expect(parseRtp(buf, 10, basic.length, h)).toBe(true);
    expect(h.payloadOffset).toBe(22);
  });
  const bad: [string, number[]][] = [
    ["too short", basic.slice(0, 11)],
    ["version 1", [0x40, ...basic.slice(1)]],
    ["version 0 (STUN-like)", [0x00, ...basic.slice(1)]],
    ["CSRC list past the end", [0x83, ...basic.slice(1)]],
    ["extension header past the end", [0x90, ...basic.slice(1, 12), 0xbe]],
    ["extension length past the end", [0x90, ...basic.slice(1, 12), 0xbe, 0xde, 0, 9]],
    ["padding count zero", [0xa0, ...basic.slice(1, 15), 0]],
    ["padding longer than payload", [0xa0, ...basic.slice(1, 15), 9]],
    ["RTCP sender report", [0x80, 0xc8, 0, 6, ...basic.slice(4)]],
  ];
  test.each(bad)("rejects %s", (_name, bytes) => {
    expect(parseRtp(packet(bytes), 0, bytes.length, createRtpHeader())).toBe(false);
  });
  test("rejects a length running past the buffer", () => {
    expect(parseRtp(packet(basic), 4, basic.length, createRtpHeader())).toBe(false);
  });
  test("fuzz: random bytes never throw and accepted packets stay in bounds", () => {
    const h = createRtpHeader();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.boolean(), (bytes, forceV2) => {
        if (forceV2 && bytes.length > 0) bytes[0] = ((bytes[0] as number) & 0x3f) | 0x80;
        const ok = parseRtp(bytes, 0, bytes.length, h);
        if (ok) {
          expect(h.payloadOffset).toBeGreaterThanOrEqual(12);
          expect(h.payloadOffset + h.payloadLength).toBeLessThanOrEqual(bytes.length);
          expect(h.payloadLength).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 20000 },
    );
  });
});

describe("RtpSender", () => {
  test("sequence +1 per packet with wrap, timestamp +160 per tick, same SSRC", () => {
    const tx = new RtpSender({ payloadType: 8, ssrc: 0xcafebabe, sequence: 65534, timestamp: 0xffffff00 });
    const buf = new Uint8Array(RTP_HEADER_SIZE);
    const h = createRtpHeader();
    const seen: [number, number, boolean][] = [];
    for (let i = 0; i < 4; i++) {
      tx.writeHeader(buf, 0);
      expect(parseRtp(buf, 0, 12, h)).toBe(true);
      expect(h.ssrc).toBe(0xcafebabe);
      expect(h.payloadType).toBe(8);
      seen.push([h.sequence, h.timestamp, h.marker]);
    }
    expect(seen).toEqual([
      [65534, 0xffffff00, true],
      [65535, 0xffffffa0, false],
      [0, 0x40, false],
      [1, 0xe0, false],
    ]);
  });
  test("timestamp stays continuous across skipped ticks and the marker starts the next talkspurt", () => {
    const tx = new RtpSender({ payloadType: 0, sequence: 10, timestamp: 1000 });
    const buf = new Uint8Array(12);
    const h = createRtpHeader();
    tx.writeHeader(buf, 0);
    tx.skip();
    tx.skip();
    tx.writeHeader(buf, 0);
    parseRtp(buf, 0, 12, h);
    expect([h.sequence, h.timestamp, h.marker]).toEqual([11, 1000 + 3 * 160, true]);
    tx.writeHeader(buf, 0);
    parseRtp(buf, 0, 12, h);
    expect(h.marker).toBe(false);
  });
  test("event headers use their own timestamp and share the sequence space", () => {
    const tx = new RtpSender({ payloadType: 0, sequence: 5, timestamp: 800 });
    const buf = new Uint8Array(12);
    const h = createRtpHeader();
    tx.writeEventHeader(buf, 0, 101, 640, true);
    parseRtp(buf, 0, 12, h);
    expect([h.payloadType, h.sequence, h.timestamp, h.marker]).toEqual([101, 5, 640, true]);
    expect(tx.sequence).toBe(6);
    expect(tx.timestamp).toBe(800);
  });
  test("random start values differ between senders", () => {
    const a = new RtpSender({ payloadType: 0 });
    const b = new RtpSender({ payloadType: 0 });
    expect([a.ssrc, a.sequence, a.timestamp]).not.toEqual([b.ssrc, b.sequence, b.timestamp]);
  });
});

describe("RtpLatch", () => {
  test("sends to the SDP address until the first packet, then latches and ignores strangers", () => {
    const latch = new RtpLatch("10.0.0.5", 4000);
    expect([latch.address, latch.port, latch.latched]).toEqual(["10.0.0.5", 4000, false]);
    expect(latch.accept("192.0.2.7", 31000)).toBe(true);
    expect([latch.address, latch.port, latch.latched]).toEqual(["192.0.2.7", 31000, true]);
    expect(latch.accept("192.0.2.7", 31000)).toBe(true);
    expect(latch.accept("192.0.2.7", 31001)).toBe(false);
    expect(latch.accept("198.51.100.1", 31000)).toBe(false);
    expect(latch.strangers).toBe(2);
    latch.reset("10.0.0.6", 5000);
    expect([latch.address, latch.port, latch.latched]).toEqual(["10.0.0.6", 5000, false]);
  });
});
