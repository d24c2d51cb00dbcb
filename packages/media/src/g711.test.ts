import { describe, expect, test } from "bun:test";
import {
  ALAW_DECODE,
  ULAW_DECODE,
  alawToLinear,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from "./g711.ts";

describe("µ-law", () => {
  const known: [number, number][] = [
    [0x00, -32124],
    [0x80, 32124],
    [0xff, 0],
    [0x7f, 0],
    [0x70, -120],
    [0xf0, 120],
    [0x7e, -8],
    [0xfe, 8],
  ];
  test.each(known)("decode 0x%s", (code, linear) => {
    expect(ulawToLinear(code)).toBe(linear);
    expect(ULAW_DECODE[code]).toBe(linear);
  });
  test("encode known values", () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(linearToUlaw(8)).toBe(0xfe);
    expect(linearToUlaw(-8)).toBe(0x7e);
  });
  test("every code decodes and re-encodes to itself (except negative zero)", () => {
    for (let c = 0; c < 256; c++) {
      const back = linearToUlaw(ulawToLinear(c));
      expect(back).toBe(c === 0x7f ? 0xff : c);
    }
  });
  test("quantisation error stays within the segment step", () => {
    for (let s = -32768; s < 32768; s += 7) {
      const err = Math.abs(ulawToLinear(linearToUlaw(s)) - Math.max(-32124, Math.min(32124, s)));
      expect(err).toBeLessThanOrEqual(Math.max(8, Math.abs(s) / 16 + 8));
    }
  });
});

describe("A-law", () => {
  const known: [number, number][] = [
    [0xd5, 8],
    [0x55, -8],
    [0xaa, 32256],
    [0x2a, -32256],
    [0xd4, 24],
  ];
  test.each(known)("decode 0x%s", (code, linear) => {
    expect(alawToLinear(code)).toBe(linear);
    expect(ALAW_DECODE[code]).toBe(linear);
  });
  test("encode known values", () => {
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
  });
  test("every code round-trips", () => {
    for (let c = 0; c < 256; c++) expect(linearToAlaw(alawToLinear(c))).toBe(c);
  });
});

describe("frame functions use the tables and offsets", () => {
  test("encode/decode match the scalar functions", () => {
    const pcm = new Int16Array(200);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(Math.sin(i / 3) * 20000);
    const u = new Uint8Array(210);
    const a = new Uint8Array(210);
    encodeUlaw(pcm, 20, u, 10, 160);
    encodeAlaw(pcm, 20, a, 10, 160);
    for (let i = 0; i < 160; i++) {
      expect(u[10 + i]).toBe(linearToUlaw(pcm[20 + i] as number));
      expect(a[10 + i]).toBe(linearToAlaw(pcm[20 + i] as number));
    }
    const du = new Int16Array(170);
    const da = new Int16Array(170);
    decodeUlaw(u, 10, du, 5, 160);
    decodeAlaw(a, 10, da, 5, 160);
    for (let i = 0; i < 160; i++) {
      expect(du[5 + i]).toBe(ulawToLinear(u[10 + i] as number));
      expect(da[5 + i]).toBe(alawToLinear(a[10 + i] as number));
    }
  });
});
