import { describe, expect, test } from "bun:test";
import { activeFraction, findTwoNotes, hannToneDb, semitoneSpectrum, spectrumSimilarity, toneOnsets } from "./tone-track.ts";

const RATE = 8000;

/** Adds a sine of `hz` at linear amplitude `amp` over [from, to) seconds. */
function addSine(buf: Int16Array, hz: number, amp: number, from: number, to: number): void {
  for (let i = Math.round(from * RATE); i < Math.min(buf.length, Math.round(to * RATE)); i++) {
    buf[i] = buf[i]! + Math.round(amp * Math.sin((2 * Math.PI * hz * i) / RATE));
  }
}

describe("tone tracking", () => {
  test("hannToneDb measures a sine's level", () => {
    const b = new Int16Array(RATE);
    addSine(b, 1000, 8192, 0, 1);
    expect(hannToneDb(b, RATE, 1000, 0, 800)).toBeCloseTo(-12, 0);
    expect(hannToneDb(b, RATE, 880, 0, 800)).toBeLessThan(-60);
  });

  test("findTwoNotes tells the entry tone (587 then 880 Hz) from the exit tone, under a talker", () => {
    const b = new Int16Array(4 * RATE);
    addSine(b, 1000, 8192, 0, 4);
    addSine(b, 587, 6000, 1, 1.11);
    addSine(b, 880, 6000, 1.11, 1.27);
    addSine(b, 880, 6000, 3, 3.11);
    addSine(b, 587, 6000, 3.11, 3.27);
    const entries = findTwoNotes(b, RATE, 587, 880);
    const exits = findTwoNotes(b, RATE, 880, 587);
    expect(entries.length).toBe(1);
    expect(entries[0]!).toBeCloseTo(1, 1);
    expect(exits.length).toBe(1);
    expect(exits[0]!).toBeCloseTo(3, 1);
  });

  test("toneOnsets finds beeps; activeFraction sees the silence between them", () => {
    const b = new Int16Array(7 * RATE);
    for (const t of [0.5, 2.5, 4.5, 6.5]) addSine(b, 800, 5000, t, t + 0.18);
    expect(toneOnsets(b, RATE, 800, 0, 7).map((t) => Math.round(t * 10) / 10)).toEqual([0.5, 2.5, 4.5, 6.5]);
    expect(activeFraction(b, RATE, 0, 7)).toBeLessThan(0.2);
  });

  test("semitone spectra: alike for the same notes, unlike for others", () => {
    const a = new Int16Array(2 * RATE);
    const a2 = new Int16Array(2 * RATE);
    const c = new Int16Array(2 * RATE);
    for (const hz of [261.6, 329.6, 392]) {
      addSine(a, hz, 3000, 0, 2);
      addSine(a2, hz, 2000, 0, 2);
    }
    for (const hz of [466.2, 622.3]) addSine(c, hz, 3000, 0, 2);
    expect(spectrumSimilarity(semitoneSpectrum(a, RATE, 0, 2), semitoneSpectrum(a2, RATE, 0, 2))).toBeGreaterThan(0.95);
    expect(spectrumSimilarity(semitoneSpectrum(a, RATE, 0, 2), semitoneSpectrum(c, RATE, 0, 2))).toBeLessThan(0.1);
  });
});
