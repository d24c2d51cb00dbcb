import { describe, expect, test } from "bun:test";
import { goertzelAmplitude, rms } from "./goertzel.ts";
import { BEEP, ENTRY_TONE, EXIT_TONE, LoopSource, MIX_FRAME, RINGBACK, createMohSources, synthTone } from "./tones.ts";

const amp = (s: Int16Array, off: number, n: number, f: number) => goertzelAmplitude(s, off, n, f, 16000);

describe("tones", () => {
  test("entry tone rises, exit tone falls", () => {
    expect(amp(ENTRY_TONE, 160, 1280, 587)).toBeGreaterThan(4000);
    expect(amp(ENTRY_TONE, 2000, 1600, 880)).toBeGreaterThan(4000);
    expect(amp(EXIT_TONE, 160, 1280, 880)).toBeGreaterThan(4000);
    expect(amp(EXIT_TONE, 2000, 1600, 587)).toBeGreaterThan(4000);
  });
  test("beep is 1 kHz; ringback is 440+480 Hz then silence, frame aligned", () => {
    expect(amp(BEEP, 400, 3200, 1000)).toBeGreaterThan(6000);
    expect(amp(RINGBACK, 1600, 16000, 440)).toBeGreaterThan(3000);
    expect(amp(RINGBACK, 1600, 16000, 480)).toBeGreaterThan(3000);
    expect(rms(RINGBACK, 40000, 20000)).toBe(0);
    expect(RINGBACK.length % MIX_FRAME).toBe(0);
  });
  test("edges are faded (no click)", () => {
    const t = synthTone([1000], 100, 8000);
    expect(Math.abs(t[0] as number)).toBeLessThan(50);
    expect(Math.abs(t[t.length - 1] as number)).toBeLessThan(50);
  });
});

describe("music on hold", () => {
  const moh = createMohSources();
  test("three distinct synthesised sources, no custom without a file", () => {
    expect([...moh.keys()]).toEqual(["default", "legacy", "beep"]);
    const a = moh.get("default")?.samples as Int16Array;
    const b = moh.get("legacy")?.samples as Int16Array;
    const c = moh.get("beep")?.samples as Int16Array;
    for (const s of [a, b, c]) {
      expect(rms(s, 0, s.length)).toBeGreaterThan(300);
      expect(s.length % MIX_FRAME).toBe(0);
    }
    expect(a.length).not.toBe(b.length);
    // The beep source is mostly silence with a periodic 800 Hz beep.
    expect(amp(c, 0, 2880, 800)).toBeGreaterThan(3000);
    expect(rms(c, 4000, 20000)).toBe(0);
  });
  test("music stays inside the telephone band", () => {
    for (const src of moh.values()) {
      const s = src.samples;
      for (const f of [3700, 4500, 6000]) expect(amp(s, 0, 16000, f)).toBeLessThan(30);
    }
  });
  test("a custom source is used when given", () => {
    const m = createMohSources(synthTone([500], 1000, 3000));
    expect(m.get("custom")?.samples.length).toBe(16000);
  });
  test("a loop source wraps around seamlessly", () => {
    const samples = new Int16Array(500).map((_, i) => i);
    const src = new LoopSource("t", samples);
    const f = new Int16Array(MIX_FRAME * 2);
    src.next(f, 0);
    src.next(f, MIX_FRAME);
    expect(f[319]).toBe(319);
    expect(f[320]).toBe(320);
    expect(f[499]).toBe(499);
    expect(f[500]).toBe(0);
    expect(f[639]).toBe(139);
  });
});
