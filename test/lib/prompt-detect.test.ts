import { describe, expect, test } from "bun:test";
import { HeardAudio, normalizedCrossCorrelation, PROMPT_HEARD_SCORE, promptClip } from "./prompt-detect.ts";

const RATE = 8000;

/** Deterministic noise (a small LCG), amplitude `amp`. */
function noise(n: number, amp: number, seed = 1): Int16Array {
  const out = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out[i] = Math.round(((x / 2 ** 31) * 2 - 1) * amp);
  }
  return out;
}

/** `base` with the clips written at the given seconds (overwriting, as a prompt replaces the mix). */
function withClips(base: Int16Array, clips: [Int16Array, number][]): Int16Array {
  const out = base.slice();
  for (const [clip, at] of clips)
    out.set(clip.subarray(0, Math.max(0, out.length - Math.round(at * RATE))), Math.round(at * RATE));
  return out;
}

describe("normalizedCrossCorrelation", () => {
  test("matches the direct computation", () => {
    const signal = noise(400, 8000, 7);
    const clip = noise(50, 5000, 3);
    const ncc = normalizedCrossCorrelation(signal, clip);
    const mean = clip.reduce((a, b) => a + b, 0) / clip.length;
    const c = Array.from(clip, (v) => v - mean);
    const cn = Math.sqrt(c.reduce((a, b) => a + b * b, 0));
    for (const k of [0, 17, 200, 349]) {
      const w = Array.from(signal.subarray(k, k + 50));
      const wm = w.reduce((a, b) => a + b, 0) / 50;
      const num = w.reduce((a, v, i) => a + v * c[i]!, 0);
      const den = cn * Math.sqrt(w.reduce((a, v) => a + (v - wm) ** 2, 0));
      expect(ncc[k]!).toBeCloseTo(num / den, 6);
    }
  });

  test("scores a copy of the clip 1 and silence 0", () => {
    const clip = noise(100, 6000, 5);
    const signal = new Int16Array(1000);
    signal.set(clip, 300);
    const ncc = normalizedCrossCorrelation(signal, clip);
    expect(ncc[300]!).toBeCloseTo(1, 6);
    expect(ncc[0]).toBe(0);
  });
});

describe("HeardAudio", () => {
  const background = noise(6 * RATE, 600);

  test("finds a prompt and where it starts, and not another prompt", () => {
    const h = new HeardAudio(withClips(background, [[promptClip("hand-raised").samples, 1.25]]), RATE);
    const m = h.find("hand-raised");
    expect(m.score).toBeGreaterThan(0.95);
    expect(m.atSeconds).toBeCloseTo(1.25, 2);
    expect(h.heard("hand-raised")).toBe(true);
    // Begins with the same words, yet is another prompt.
    expect(h.find("hand-lowered").score).toBeLessThan(PROMPT_HEARD_SCORE);
    expect(h.heard("goodbye")).toBe(false);
  });

  test("a prompt cut short by the end of the recording still counts", () => {
    const bye = promptClip("goodbye").samples;
    const cut = Math.round(bye.length * 0.85);
    const h = new HeardAudio(withClips(background.subarray(0, 2 * RATE + cut), [[bye, 2]]), RATE);
    expect(h.find("goodbye").score).toBeGreaterThan(PROMPT_HEARD_SCORE);
  });

  test("sequence: back to back in order, null otherwise; occurrences counts repeats", () => {
    const a = promptClip("meeting-ended").samples;
    const b = promptClip("goodbye").samples;
    const h = new HeardAudio(
      withClips(background, [
        [a, 0.5],
        [b, 0.5 + a.length / RATE],
        [a, 3.5],
      ]),
      RATE,
    );
    expect(h.sequence(["meeting-ended", "goodbye"])?.map((m) => Math.round(m.atSeconds * 10) / 10)).toEqual([0.5, 1.7]);
    expect(h.sequence(["goodbye", "meeting-ended"])).toBeNull();
    expect(h.occurrences("meeting-ended").map((t) => Math.round(t * 10) / 10)).toEqual([0.5, 3.5]);
  });
});
