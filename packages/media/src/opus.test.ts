import { describe, expect, test } from "bun:test";
import { goertzelAmplitude } from "./goertzel.ts";
import { OpusDecoder, OpusEncoder, OpusError, opusAvailable, opusLiveStates, opusVersion } from "./opus.ts";

/** `frames` 20 ms frames of a sine at `rate` Hz, interleaved over `channels`. */
function tone(freq: number, rate: number, frames: number, amp = 8000, channels = 1): Int16Array {
  const n = (rate / 50) * frames;
  const out = new Int16Array(n * channels);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++) out[i * channels + c] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

function throws(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

/** Encodes and decodes `frames` frames; returns what came out (at the decoder's rate, mono). */
function roundTrip(enc: OpusEncoder, dec: OpusDecoder, pcm: Int16Array, frames: number): Int16Array {
  const out = new Int16Array(dec.frameSamples * frames);
  const packet = new Uint8Array(enc.maxPacket);
  const step = enc.frameSamples * enc.channels;
  for (let f = 0; f < frames; f++) {
    const n = enc.encode(pcm, f * step, packet, 0);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(enc.maxPacket);
    expect(dec.decode(packet, 0, n, out, f * dec.frameSamples)).toBe(enc.frameSamples * (dec.sampleRate / enc.sampleRate));
  }
  return out;
}

describe("Opus through libopus", () => {
  test("the library is there (libopus0)", () => {
    expect(opusAvailable()).toBe(true);
    expect(opusVersion()).toMatch(/^libopus \d/);
  });

  test("a 1 kHz tone at 16 kHz mono keeps its frequency through encode and decode", () => {
    const enc = new OpusEncoder();
    const dec = new OpusDecoder();
    const out = roundTrip(enc, dec, tone(1000, 16000, 50), 50);
    // After the codec's start-up (a few frames), the tone is there and nothing else is.
    const at = (f: number) => goertzelAmplitude(out, 8000, 8000, f, 16000);
    expect(at(1000)).toBeGreaterThan(5000);
    expect(at(440)).toBeLessThan(200);
    expect(at(2500)).toBeLessThan(200);
    enc.destroy();
    dec.destroy();
  });

  test("a phone's full-band stereo stream decodes to 16 kHz mono with its tone", () => {
    const enc = new OpusEncoder({ sampleRate: 48000, channels: 2, bitrate: 64000, maxPacket: 1275 });
    const dec = new OpusDecoder({ sampleRate: 16000, channels: 1 });
    expect(enc.frameSamples).toBe(960);
    const out = roundTrip(enc, dec, tone(1500, 48000, 40, 8000, 2), 40);
    expect(goertzelAmplitude(out, 8000, 4800, 1500, 16000)).toBeGreaterThan(5000);
    expect(goertzelAmplitude(out, 8000, 4800, 700, 16000)).toBeLessThan(300);
    enc.destroy();
    dec.destroy();
  });

  test("packet loss: conceal() continues the tone for a lost frame, then fades over a long loss", () => {
    const enc = new OpusEncoder();
    const dec = new OpusDecoder();
    roundTrip(enc, dec, tone(800, 16000, 30), 30);
    const plc = new Int16Array(320 * 20);
    for (let f = 0; f < 20; f++) expect(dec.conceal(plc, f * 320)).toBe(320);
    const first = goertzelAmplitude(plc, 0, 320, 800, 16000);
    const late = goertzelAmplitude(plc, 19 * 320, 320, 800, 16000);
    expect(first).toBeGreaterThan(2000);
    expect(late).toBeLessThan(first / 4);
    enc.destroy();
    dec.destroy();
  });

  test("a garbage or oversized packet is concealed and counted, never thrown", () => {
    const dec = new OpusDecoder();
    const pcm = new Int16Array(320).fill(123);
    // TOC byte of code 3 (arbitrary frame count) with a frame count of zero: invalid.
    expect(dec.decode(Uint8Array.from([0x03, 0x00]), 0, 2, pcm, 0)).toBe(320);
    expect(dec.decode(new Uint8Array(2000), 0, 2000, pcm, 0)).toBe(320);
    expect(dec.decode(new Uint8Array(1), 0, 0, pcm, 0)).toBe(320);
    expect(dec.errors).toBe(3);
    expect(pcm.every((v) => v === 0)).toBe(true);
    dec.destroy();
  });

  test("copyFrom: an encoder that takes over another's state continues its stream byte for byte", () => {
    const a = new OpusEncoder();
    const b = new OpusEncoder();
    const pcm = tone(600, 16000, 10);
    const pa = new Uint8Array(320);
    const pb = new Uint8Array(320);
    for (let f = 0; f < 9; f++) a.encode(pcm, f * 320, pa, 0);
    b.copyFrom(a);
    const na = a.encode(pcm, 9 * 320, pa, 0);
    const nb = b.encode(pcm, 9 * 320, pb, 0);
    expect(nb).toBe(na);
    expect(pb.subarray(0, nb)).toEqual(pa.subarray(0, na));
    const wide = new OpusEncoder({ sampleRate: 48000 });
    expect(throws(() => wide.copyFrom(a))).toBeInstanceOf(OpusError);
    for (const e of [a, b, wide]) e.destroy();
  });

  test("bad settings and use after destroy are OpusErrors; destroy is idempotent", () => {
    expect(throws(() => new OpusEncoder({ sampleRate: 44100 }))).toBeInstanceOf(OpusError);
    expect(throws(() => new OpusEncoder({ channels: 3 }))).toBeInstanceOf(OpusError);
    expect(throws(() => new OpusEncoder({ bitrate: -5 }))).toBeInstanceOf(OpusError);
    expect(throws(() => new OpusDecoder({ sampleRate: 22050 }))).toBeInstanceOf(OpusError);
    const enc = new OpusEncoder();
    enc.destroy();
    enc.destroy();
    expect(enc.destroyed).toBe(true);
    expect(throws(() => enc.encode(new Int16Array(320), 0, new Uint8Array(320), 0))).toBeInstanceOf(OpusError);
    const dec = new OpusDecoder();
    dec.destroy();
    dec.destroy();
    expect(throws(() => dec.conceal(new Int16Array(320), 0))).toBeInstanceOf(OpusError);
  });

  test("3,000 encoders and decoders made and destroyed: no native state left, memory flat", () => {
    const base = opusLiveStates();
    const pcm = tone(440, 16000, 1);
    const packet = new Uint8Array(320);
    const out = new Int16Array(320);
    const cycle = (n: number) => {
      for (let i = 0; i < n; i++) {
        const enc = new OpusEncoder();
        const dec = new OpusDecoder();
        dec.decode(packet, 0, enc.encode(pcm, 0, packet, 0), out, 0);
        enc.destroy();
        dec.destroy();
      }
    };
    cycle(500);
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    cycle(3000);
    Bun.gc(true);
    expect(opusLiveStates()).toBe(base);
    // Each pair is ~50 KB of native memory: a leak would be 150 MB.
    expect(process.memoryUsage().rss - rss).toBeLessThan(30 * 1024 * 1024);
  }, 30_000);

  test("per frame nothing is allocated: 5,000 encodes and decodes keep the heap flat", async () => {
    const { heapStats } = await import("bun:jsc");
    const enc = new OpusEncoder();
    const dec = new OpusDecoder();
    const pcm = tone(440, 16000, 10);
    const packet = new Uint8Array(320);
    const out = new Int16Array(320);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const len = enc.encode(pcm, (i % 10) * 320, packet, 0);
        if (i % 7 === 0) dec.conceal(out, 0);
        else dec.decode(packet, 0, len, out, 0);
      }
    };
    run(500);
    Bun.gc(true);
    const before = heapStats().objectCount;
    run(5000);
    Bun.gc(true);
    expect(heapStats().objectCount - before).toBeLessThan(500);
    enc.destroy();
    dec.destroy();
  });
});
