import { describe, expect, test } from "bun:test";
import { emptyHeader, readRtpHeader, writeRtpHeader } from "./packet.ts";
import { linearToAlaw, linearToUlaw, ulawToLinear } from "./g711.ts";

describe("RTP header", () => {
  test("write then read round-trips every field, including 32-bit values", () => {
    const buf = new Uint8Array(12 + 160);
    writeRtpHeader(buf, true, 101, 65535, 0xfffffff0, 0xdeadbeef);
    const h = emptyHeader();
    expect(readRtpHeader(buf, h)).toBe(true);
    expect(h).toEqual({ marker: true, payloadType: 101, seq: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payloadOffset: 12, payloadLength: 160 });
  });

  test("CSRCs, extension and padding move the payload bounds; junk is refused", () => {
    const buf = new Uint8Array(12 + 4 + 8 + 10 + 2);
    writeRtpHeader(buf, false, 0, 1, 2, 3);
    buf[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, 1 CSRC
    buf[12 + 4 + 3] = 1; // extension length: 1 word
    buf[buf.length - 1] = 2; // 2 bytes of padding
    const h = emptyHeader();
    expect(readRtpHeader(buf, h)).toBe(true);
    expect(h.payloadOffset).toBe(12 + 4 + 8);
    expect(h.payloadLength).toBe(10);
    expect(readRtpHeader(new Uint8Array(5), h)).toBe(false);
    expect(readRtpHeader(new Uint8Array(20), h)).toBe(false); // version 0
  });
});

describe("G.711", () => {
  test("mu-law: silence is 0xFF, and decode(encode(x)) stays within the step size", () => {
    expect(linearToUlaw(0)).toBe(0xff);
    for (const x of [-32000, -1000, -50, 1, 100, 5000, 32000]) {
      const y = ulawToLinear(linearToUlaw(x));
      expect(Math.abs(y - x)).toBeLessThanOrEqual(Math.max(8, Math.abs(x) / 16));
    }
  });
  test("A-law reference points", () => {
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
  });
});
