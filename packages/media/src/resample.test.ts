import { describe, expect, test } from "bun:test";
import { goertzelAmplitude } from "./goertzel.ts";
import { Downsampler2x, UP_HISTORY, Upsampler2x, primeUpsampler, upsample2x } from "./resample.ts";

function sine(n: number, freq: number, rate: number, amp: number, phase = 0): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin(phase + (2 * Math.PI * freq * i) / rate));
  return out;
}

function upFrames(src: Int16Array): Int16Array {
  const up = new Upsampler2x();
  const out = new Int16Array(src.length * 2);
  for (let off = 0; off + 160 <= src.length; off += 160) up.process(src, off, 160, out, off * 2);
  return out;
}

function downFrames(src: Int16Array): Int16Array {
  const down = new Downsampler2x();
  const out = new Int16Array(src.length / 2);
  for (let off = 0; off + 320 <= src.length; off += 320) down.process(src, off, 320, out, off / 2);
  return out;
}

describe("upsample 8k -> 16k", () => {
  test.each([300, 1000, 2000, 3000, 3400])("%d Hz passes with unity gain and no image", (f) => {
    const out = upFrames(sine(8000, f, 8000, 10000));
    const a = goertzelAmplitude(out, 3200, 8000, f, 16000);
    const image = goertzelAmplitude(out, 3200, 8000, 8000 - f, 16000);
    expect(a).toBeGreaterThan(9700);
    expect(a).toBeLessThan(10300);
    expect(image).toBeLessThan(10000 * 10 ** (-55 / 20));
  });
  test("frame-by-frame equals one-shot processing", () => {
    const src = sine(1600, 700, 8000, 12000);
    const framed = upFrames(src);
    const once = new Int16Array(3200);
    upsample2x(src, 0, 1600, once, 0, new Int16Array(UP_HISTORY), 0);
    expect(Array.from(framed)).toEqual(Array.from(once));
  });
  test("priming keeps history so a later frame starts as if processed", () => {
    const src = sine(480, 500, 8000, 9000);
    const a = new Upsampler2x();
    const outA = new Int16Array(960);
    for (let off = 0; off < 480; off += 160) a.process(src, off, 160, outA, off * 2);
    const b = new Upsampler2x();
    const outB = new Int16Array(960);
    b.process(src, 0, 160, outB, 0);
    primeUpsampler(src, 160, 160, b.state, 0);
    b.process(src, 320, 160, outB, 640);
    expect(Array.from(outB.subarray(640))).toEqual(Array.from(outA.subarray(640)));
  });
  test("full-scale input saturates instead of wrapping", () => {
    const src = new Int16Array(320);
    for (let i = 0; i < 320; i++) src[i] = i % 2 ? 32767 : -32768;
    const out = upFrames(src);
    for (const v of out) expect(v >= -32768 && v <= 32767).toBe(true);
  });
});

describe("downsample 16k -> 8k", () => {
  test.each([440, 1000, 1500, 3000])("%d Hz passes with unity gain", (f) => {
    const out = downFrames(sine(16000, f, 16000, 10000));
    const a = goertzelAmplitude(out, 1600, 4000, f, 8000);
    expect(a).toBeGreaterThan(9700);
    expect(a).toBeLessThan(10300);
  });
  test.each([4700, 5000, 6000, 7000])("%d Hz does not alias into the band", (f) => {
    const out = downFrames(sine(16000, f, 16000, 10000));
    const alias = goertzelAmplitude(out, 1600, 4000, 8000 - f, 8000);
    expect(alias).toBeLessThan(10000 * 10 ** (-55 / 20));
  });
  test("down(up(x)) returns x delayed", () => {
    const src = sine(1600, 1000, 8000, 8000);
    const back = downFrames(upFrames(src));
    expect(goertzelAmplitude(back, 400, 1200, 1000, 8000)).toBeGreaterThan(7800);
  });
});
