import { describe, expect, test } from "bun:test";
import { G722Decoder, G722Encoder } from "./g722.ts";
import { goertzelAmplitude } from "./goertzel.ts";

function tones(n: number, parts: [number, number][]): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (const [f, a] of parts) v += a * Math.sin((2 * Math.PI * f * i) / 16000);
    out[i] = Math.round(v);
  }
  return out;
}

/** Encodes and decodes frame by frame (20 ms = 320 samples = 160 bytes). */
function roundTrip(pcm: Int16Array): { bytes: Uint8Array; out: Int16Array } {
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const bytes = new Uint8Array(pcm.length / 2);
  const out = new Int16Array(pcm.length);
  for (let off = 0; off + 320 <= pcm.length; off += 320) {
    expect(enc.encode(pcm, off, 320, bytes, off / 2)).toBe(160);
    expect(dec.decode(bytes, off / 2, 160, out, off)).toBe(320);
  }
  return { bytes, out };
}

/** Best SNR over small delays (the QMF pair delays the signal by 22 samples). */
function snrDb(ref: Int16Array, out: Int16Array): number {
  let best = -Infinity;
  for (let lag = 0; lag < 40; lag++) {
    let sig = 0;
    let noise = 0;
    for (let i = 1600; i + lag < ref.length; i++) {
      const r = ref[i] as number;
      const e = r - (out[i + lag] as number);
      sig += r * r;
      noise += e * e;
    }
    best = Math.max(best, 10 * Math.log10(sig / Math.max(noise, 1)));
  }
  return best;
}

describe("G.722 64 kbit/s", () => {
  test.each([
    [
      "speech band",
      [
        [440, 8000],
        [1800, 3000],
      ],
    ],
    [
      "wideband content above 4 kHz",
      [
        [5000, 6000],
        [300, 4000],
      ],
    ],
    ["a quiet tone", [[1000, 300]]],
  ] as [string, [number, number][]][])("round trip keeps %s (SNR > 20 dB)", (_n, parts) => {
    const pcm = tones(16000, parts);
    const { out } = roundTrip(pcm);
    expect(snrDb(pcm, out)).toBeGreaterThan(20);
  });
  test("6 kHz survives (it would not through an 8 kHz codec)", () => {
    const pcm = tones(16000, [[6000, 8000]]);
    const { out } = roundTrip(pcm);
    expect(goertzelAmplitude(out, 3200, 9600, 6000, 16000)).toBeGreaterThan(7000);
  });
  test("silence decodes to near-silence", () => {
    const { out } = roundTrip(new Int16Array(3200));
    for (const v of out) expect(Math.abs(v)).toBeLessThan(8);
  });
  test("full-scale square wave neither throws nor wraps", () => {
    const pcm = new Int16Array(3200).map((_, i) => (i % 40 < 20 ? 32767 : -32768));
    const { out } = roundTrip(pcm);
    expect(snrDb(pcm, out)).toBeGreaterThan(8);
  });
  test("decoder survives random bytes", () => {
    const dec = new G722Decoder();
    const junk = new Uint8Array(1600).map(() => Math.floor(Math.random() * 256));
    const out = new Int16Array(3200);
    dec.decode(junk, 0, 1600, out, 0);
    for (const v of out) expect(v >= -32768 && v <= 32767).toBe(true);
  });
  test("reset restores the initial state", () => {
    const pcm = tones(640, [[700, 5000]]);
    const enc = new G722Encoder();
    const a = new Uint8Array(320);
    const b = new Uint8Array(320);
    enc.encode(pcm, 0, 640, a, 0);
    enc.reset();
    enc.encode(pcm, 0, 640, b, 0);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

// Bit-exact cross-check against spandsp's G.722 (libspandsp2, a dependency of
// baresip, which the end-to-end tests install). Skipped where the library is absent.
const SPANDSP = "/lib/x86_64-linux-gnu/libspandsp.so.2";
const haveSpandsp = await Bun.file(SPANDSP).exists();
describe.skipIf(!haveSpandsp)("G.722 matches spandsp bit for bit", () => {
  test("encoder bytes and decoder samples are identical", async () => {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    const lib = dlopen(SPANDSP, {
      g722_encode_init: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.ptr },
      g722_encode: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
      g722_decode_init: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.ptr },
      g722_decode: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    });
    try {
      // Speech-like test signal: a sweep plus harmonics plus noise, loud and quiet parts.
      const n = 32000;
      const pcm = new Int16Array(n);
      let seed = 3;
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const t = i / 16000;
        const f = 100 + 7000 * (i / n);
        const env = i < n / 2 ? 1 : 0.05;
        pcm[i] = Math.round(
          env * (9000 * Math.sin(2 * Math.PI * f * t) + 4000 * Math.sin(2 * Math.PI * 3 * f * t)) +
            (seed / 0x7fffffff - 0.5) * 800,
        );
      }
      const encState = lib.symbols.g722_encode_init(null, 64000, 0);
      const theirs = new Uint8Array(n / 2);
      expect(lib.symbols.g722_encode(encState, ptr(theirs), ptr(pcm), n)).toBe(n / 2);
      const ours = new Uint8Array(n / 2);
      const enc = new G722Encoder();
      for (let off = 0; off < n; off += 320) enc.encode(pcm, off, 320, ours, off / 2);
      expect(Array.from(ours)).toEqual(Array.from(theirs));

      const decState = lib.symbols.g722_decode_init(null, 64000, 0);
      const theirPcm = new Int16Array(n);
      expect(lib.symbols.g722_decode(decState, ptr(theirPcm), ptr(theirs), n / 2)).toBe(n);
      const ourPcm = new Int16Array(n);
      const dec = new G722Decoder();
      for (let off = 0; off < n / 2; off += 160) dec.decode(theirs, off, 160, ourPcm, off * 2);
      expect(Array.from(ourPcm)).toEqual(Array.from(theirPcm));
    } finally {
      lib.close();
    }
  });
});

describe("G.722 level tracking without decoding", () => {
  test("silence idles low, audible signals step up, and decoding resumes cleanly", () => {
    const enc = new G722Encoder();
    const quiet = new Uint8Array(160);
    const loud = new Uint8Array(160);
    enc.encode(new Int16Array(320), 0, 320, quiet, 0);
    enc.encode(new Int16Array(320), 0, 320, quiet, 0);
    const dec = new G722Decoder();
    expect(dec.trackLevel(quiet, 0, 160)).toBeLessThan(70);
    // Then a voice-level tone: the tracked step rises past the mixer's gate (80).
    const pcm = tones(16000, [
      [700, 3000],
      [1900, 1500],
    ]);
    const bytes = new Uint8Array(8000);
    for (let off = 0; off < 16000; off += 320) enc.encode(pcm, off, 320, bytes, off / 2);
    let level = 0;
    for (let off = 0; off < 1600; off += 160) level = dec.trackLevel(bytes, off, 160);
    expect(level).toBeGreaterThan(90);
    // Decoding the rest after only tracking: close to a decoder that saw everything.
    const full = new G722Decoder();
    const a = new Int16Array(16000);
    const b = new Int16Array(16000);
    full.decode(bytes, 0, 8000, a, 0);
    dec.decode(bytes, 1600, 6400, b, 3200);
    const snr = (from: number, to: number) => {
      let sig = 0;
      let err = 0;
      for (let i = from; i < to; i++) {
        sig += (a[i] as number) ** 2;
        err += ((a[i] as number) - (b[i] as number)) ** 2;
      }
      return 10 * Math.log10(sig / Math.max(err, 1));
    };
    // The restarted predictor needs about 100-200 ms to re-adapt (an onset blur),
    // then the output matches the decoder that saw everything.
    // Measured: ~6 dB over the first 100 ms, ~24 dB over the next, ~50 dB after.
    // In the mixer decoding starts as soon as a caller rises above idle noise, well
    // before speech is loud enough to be mixed, so the blur falls on the quiet onset.
    expect(snr(3200, 4800)).toBeGreaterThan(3);
    expect(snr(4800, 6400)).toBeGreaterThan(18);
    expect(snr(6400, 16000)).toBeGreaterThan(40);
    // High-band-only content (6 kHz) is seen too.
    const hi = tones(3200, [[6000, 3000]]);
    const hb = new Uint8Array(1600);
    const enc2 = new G722Encoder();
    for (let off = 0; off < 3200; off += 320) enc2.encode(hi, off, 320, hb, off / 2);
    const dec2 = new G722Decoder();
    let hl = 0;
    for (let off = 0; off < 1600; off += 160) hl = dec2.trackLevel(hb, off, 160);
    expect(hl).toBeGreaterThan(90);
  });
});
