import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { RTP_HEADER_SIZE, RtpLatch, RtpSender, createRtpHeader, isRoutableAddress, parseRtp, writeRtpHeader } from "./rtp.ts";

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

describe("writeRtpHeader", () => {
  test("round-trips every field through parseRtp, 16- and 32-bit values wrapped, at an offset", () => {
    const buf = new Uint8Array(4 + RTP_HEADER_SIZE + 160);
    writeRtpHeader(buf, 4, 101 | 0x80, true, 0x1ffff, 2 ** 32 + 7, 0xdeadbeef);
    const h = createRtpHeader();
    expect(parseRtp(buf, 4, RTP_HEADER_SIZE + 160, h)).toBe(true);
    expect(h.payloadType).toBe(101);
    expect(h.marker).toBe(true);
    expect(h.sequence).toBe(0xffff);
    expect(h.timestamp).toBe(7);
    expect(h.ssrc).toBe(0xdeadbeef);
    expect(h.payloadOffset).toBe(4 + RTP_HEADER_SIZE);
    expect(h.payloadLength).toBe(160);
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
  /** Feeds `n` packets of one stream (20 ms apart from `t0`); returns the results. */
  function feed(
    latch: RtpLatch,
    address: string,
    port: number,
    ssrc: number,
    firstSeq: number,
    n: number,
    t0: number,
  ): boolean[] {
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push(latch.accept(address, port, ssrc, (firstSeq + i) & 0xffff, t0 + i * 20));
    return out;
  }

  test("behind NAT (private SDP address): a stream latches after `packets` in sequence, then strangers are dropped", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, { packets: 4 }, 0);
    expect([latch.address, latch.port, latch.latched]).toEqual(["10.0.0.5", 4000, false]);
    expect(feed(latch, "192.0.2.7", 31000, 7, 65534, 5, 0)).toEqual([false, false, false, true, true]);
    expect([latch.address, latch.port, latch.latched]).toEqual(["192.0.2.7", 31000, true]);
    expect(latch.accept("192.0.2.7", 31001, 7, 3, 120)).toBe(false);
    expect(latch.accept("198.51.100.1", 31000, 7, 4, 130)).toBe(false);
    expect(latch.foreign).toBe(3 + 2);
  });

  test("a packet from exactly the SDP's address latches at once, and wins the latch back from anyone", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, { packets: 4 }, 0);
    expect(feed(latch, "192.0.2.66", 5000, 1, 10, 4, 0)).toEqual([false, false, false, true]);
    expect(latch.accept("10.0.0.5", 4000, 9, 500, 100)).toBe(true);
    expect([latch.address, latch.port]).toEqual(["10.0.0.5", 4000]);
    expect(latch.accept("192.0.2.66", 5000, 1, 14, 120)).toBe(false);
  });

  test("stray packets (one per source, or a new SSRC or sequence each) never latch", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, { packets: 3 }, 0);
    for (let i = 0; i < 200; i++) expect(latch.accept(`192.0.2.${i % 200}`, 1000 + i, i, i * 1000, i * 300)).toBe(false);
    for (let i = 0; i < 50; i++) expect(latch.accept("192.0.2.9", 7000, i, 5, i * 300)).toBe(false); // new SSRC each
    for (let i = 0; i < 50; i++) expect(latch.accept("192.0.2.9", 7000, 1, 5, i * 300)).toBe(false); // repeated sequence
    expect(latch.latched).toBe(false);
    expect(latch.foreign).toBe(300);
  });

  test("strays interleaved with a caller's stream neither count nor displace it", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, { packets: 4 }, 0);
    const got: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      got.push(latch.accept("203.0.113.1", 9000, 77, 100 + i, i * 20));
      latch.accept("198.51.100.9", 2000 + i, i, i * 999, i * 20 + 5);
    }
    expect(got).toEqual([false, false, false, true, true]);
    expect(latch.port).toBe(9000);
  });

  test("a routable SDP address gets `sdpGraceMs` before a stream from elsewhere may latch", () => {
    const latch = new RtpLatch("198.51.100.20", 4000, { packets: 3, sdpGraceMs: 500 }, 0);
    const early = feed(latch, "203.0.113.66", 6000, 5, 1, 30, 0); // 0 .. 580 ms
    expect(early.indexOf(true)).toBe(25); // 500 ms: the first packet after the grace
    const other = new RtpLatch("198.51.100.20", 4000, { packets: 3, sdpGraceMs: 500 }, 0);
    feed(other, "203.0.113.66", 6000, 5, 1, 10, 0);
    expect(other.accept("198.51.100.20", 4000, 1, 1, 210)).toBe(true);
    expect(other.port).toBe(4000);
  });

  test("re-latch: only after the latched source has been silent `relatchSilenceMs`, and only for a continuing stream", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, { packets: 3, relatchSilenceMs: 2000 }, 0);
    feed(latch, "203.0.113.1", 9000, 1, 1, 10, 0); // latched; last packet at 180 ms
    expect(latch.port).toBe(9000);
    // Another stream while the caller still talks: never.
    expect(feed(latch, "203.0.113.1", 9002, 1, 11, 20, 200).some(Boolean)).toBe(false);
    // The caller's NAT binding changed: its old port is silent for 2 s, the new one streams.
    expect(feed(latch, "203.0.113.1", 9004, 1, 100, 3, 2300)).toEqual([false, false, true]);
    expect(latch.port).toBe(9004);
  });

  test("acceptPacket reads SSRC and sequence from the header; not RTP is dropped and counted; RTCP is ignored", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, { packets: 2 }, 0);
    const p = new Uint8Array(20);
    p[0] = 0x80;
    p[11] = 3;
    p[3] = 1;
    expect(latch.acceptPacket(p, "192.0.2.1", 5000, 0)).toBe(false);
    p[3] = 2;
    expect(latch.acceptPacket(p, "192.0.2.1", 5000, 20)).toBe(true);
    expect(latch.acceptPacket(new Uint8Array(8), "192.0.2.1", 5000, 40)).toBe(false);
    const rtcp = new Uint8Array(20);
    rtcp[0] = 0x80;
    rtcp[1] = 200; // SR: payload type 72 with the marker bit
    expect(latch.acceptPacket(rtcp, "198.51.100.1", 5000, 40)).toBe(false);
    expect(latch.foreign).toBe(2);
  });

  test("reset forgets the latch and waits for the caller's packets again", () => {
    const latch = new RtpLatch("10.0.0.5", 4000, {}, 0);
    expect(latch.accept("10.0.0.5", 4000, 1, 1, 0)).toBe(true);
    latch.reset("10.0.0.6", 5000, 100);
    expect([latch.address, latch.port, latch.latched]).toEqual(["10.0.0.6", 5000, false]);
    expect(latch.accept("10.0.0.5", 4000, 1, 2, 120)).toBe(false);
  });

  test("routable addresses", () => {
    const table: [string, boolean][] = [
      ["198.51.100.7", true],
      ["127.0.0.1", true],
      ["10.1.2.3", false],
      ["172.16.0.1", false],
      ["172.32.0.1", true],
      ["192.168.1.1", false],
      ["100.64.0.1", false],
      ["169.254.1.1", false],
      ["0.0.0.0", false],
      ["2001:db8::1", true],
      ["fd00::1", false],
      ["fe80::1", false],
      ["host.example", false],
    ];
    for (const [a, want] of table) expect([a, isRoutableAddress(a)]).toEqual([a, want]);
  });
});
