import { describe, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { WaveFile } from "wavefile";
import { goertzelAmplitude, rms } from "./goertzel.ts";
import {
  DEFAULT_PROMPT_DIR,
  PROMPT_FINISHED,
  PROMPT_IDLE,
  PROMPT_NAMES,
  PROMPT_PLAYING,
  PromptPlayer,
  decodeWav,
  keyClips,
  loadMohSources,
  loadPrompts,
  loadWavFile,
  numberClips,
} from "./prompts.ts";

describe("committed prompts", () => {
  const r = loadPrompts();
  test("all load, each is speech of a sane length", () => {
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    for (const name of PROMPT_NAMES) {
      const clip = r.library.get(name);
      expect(clip.length).toBeGreaterThan(0.15 * 16000);
      expect(clip.length).toBeLessThan(6 * 16000);
      expect(rms(clip, 0, clip.length)).toBeGreaterThan(500);
    }
  });
  test("the assets stay small (< 2 MB)", () => {
    const total = readdirSync(DEFAULT_PROMPT_DIR).reduce((a, f) => a + statSync(join(DEFAULT_PROMPT_DIR, f)).size, 0);
    expect(total).toBeLessThan(2_000_000);
  });
  test("a missing directory is an error value", () => {
    const bad = loadPrompts("/nonexistent/prompts");
    expect(bad.ok).toBe(false);
  });
});

describe("numbers and keys", () => {
  const table: [number, string][] = [
    [0, "num-0"],
    [7, "num-7"],
    [20, "num-20"],
    [21, "num-20 num-1"],
    [40, "num-40"],
    [100, "num-1 hundred"],
    [118, "num-1 hundred num-18"],
    [342, "num-3 hundred num-40 num-2"],
    [999, "num-9 hundred num-90 num-9"],
    [1000, "num-1 thousand"],
    [2505, "num-2 thousand num-5 hundred num-5"],
  ];
  test.each(table)("%d", (n, words) => {
    expect(numberClips(n).join(" ")).toBe(words);
  });
  test("keys", () => {
    expect(keyClips("*6")).toEqual(["star", "num-6"]);
    expect(keyClips("92#")).toEqual(["num-9", "num-2", "pound"]);
  });
});

describe("WAV decoding", () => {
  test("44.1 kHz stereo 16-bit becomes 16 kHz mono with the tone intact", () => {
    const n = 44100;
    const l = new Int16Array(n);
    const rr = new Int16Array(n);
    for (let i = 0; i < n; i++) l[i] = rr[i] = Math.round(8000 * Math.sin((2 * Math.PI * 700 * i) / 44100));
    const wav = new WaveFile();
    wav.fromScratch(2, 44100, "16", [l, rr]);
    const r = decodeWav(wav.toBuffer());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Math.abs(r.samples.length - 16000)).toBeLessThan(4);
    expect(goertzelAmplitude(r.samples, 1600, 12800, 700, 16000)).toBeGreaterThan(7000);
  });
  test("8 kHz µ-law is decoded and upsampled", () => {
    const n = 8000;
    const s = new Int16Array(n);
    for (let i = 0; i < n; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
    const wav = new WaveFile();
    wav.fromScratch(1, 8000, "16", s);
    wav.toMuLaw();
    const r = decodeWav(wav.toBuffer());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.samples.length).toBe(16000);
    expect(goertzelAmplitude(r.samples, 1600, 12800, 1000, 16000)).toBeGreaterThan(7500);
  });
  test("garbage and missing files are error values", () => {
    expect(decodeWav(new Uint8Array([1, 2, 3])).ok).toBe(false);
    expect(loadWavFile("/nonexistent.wav").ok).toBe(false);
  });
});

describe("PromptPlayer", () => {
  test("waiting(n): queued and not begun; begun, played or cleared items are not waiting", () => {
    const p = new PromptPlayer();
    const frame = new Int16Array(320);
    p.enqueue(new Int16Array(640));
    const first = p.queuedTotal;
    p.enqueue(new Int16Array(320));
    const second = p.queuedTotal;
    expect([p.waiting(first), p.waiting(second), p.waiting(0), p.waiting(second + 1)]).toEqual([true, true, false, false]);
    p.next(frame, 0); // the first begins
    expect([p.waiting(first), p.waiting(second)]).toEqual([false, true]);
    p.next(frame, 0);
    p.next(frame, 0); // the second begins and ends
    expect(p.waiting(second)).toBe(false);
    p.enqueue(new Int16Array(320));
    p.clear();
    expect(p.waiting(p.queuedTotal)).toBe(false);
  });

  test("plays clips back to back across frame boundaries, pads the end with silence", () => {
    const a = new Int16Array(500).fill(1);
    const b = new Int16Array(300).fill(2);
    const p = new PromptPlayer();
    p.enqueue(a);
    p.enqueueSilence(5); // 80 samples
    p.enqueue(b);
    const f = new Int16Array(320);
    expect(p.next(f, 0)).toBe(PROMPT_PLAYING);
    expect(f.every((v) => v === 1)).toBe(true);
    expect(p.next(f, 0)).toBe(PROMPT_PLAYING);
    expect(Array.from(f.subarray(0, 180)).every((v) => v === 1)).toBe(true);
    expect(Array.from(f.subarray(180, 260)).every((v) => v === 0)).toBe(true);
    expect(Array.from(f.subarray(260)).every((v) => v === 2)).toBe(true);
    expect(p.next(f, 0)).toBe(PROMPT_FINISHED);
    expect(Array.from(f.subarray(0, 240)).every((v) => v === 2)).toBe(true);
    expect(Array.from(f.subarray(240)).every((v) => v === 0)).toBe(true);
    expect(p.next(f, 0)).toBe(PROMPT_IDLE);
    expect(p.playing).toBe(false);
  });
  test("a full queue refuses more; clear empties it", () => {
    const p = new PromptPlayer(2);
    const c = new Int16Array(10);
    expect(p.enqueue(c)).toBe(true);
    expect(p.enqueue(c)).toBe(true);
    expect(p.enqueue(c)).toBe(false);
    expect(p.enqueueAll([c])).toBe(false);
    p.clear();
    expect(p.playing).toBe(false);
    expect(p.enqueueAll([c, c])).toBe(true);
  });
  test("a queue longer than the first ring grows in order, also after the ring wrapped, up to its capacity", () => {
    const p = new PromptPlayer(64);
    const clip = (v: number) => new Int16Array(320).fill(v);
    const f = new Int16Array(320);
    // Wrap the small ring first: 6 queued, 5 played, then 68 more asked for.
    for (let v = 1; v <= 6; v++) p.enqueue(clip(v));
    for (let k = 0; k < 5; k++) p.next(f, 0);
    const more = Array.from({ length: 63 }, (_, i) => clip(7 + i));
    expect(p.enqueueAll(more)).toBe(true);
    expect(p.enqueue(clip(99))).toBe(false);
    const heard: number[] = [];
    while (p.next(f, 0) !== PROMPT_IDLE) heard.push(f[0] as number);
    expect(heard).toEqual(Array.from({ length: 64 }, (_, i) => 6 + i));
  });
});

describe("loadMohSources", () => {
  test("adds custom from a WAV file when it exists, and says why when it cannot", async () => {
    const n = 16000;
    const s = new Int16Array(n);
    for (let i = 0; i < n; i++) s[i] = Math.round(5000 * Math.sin((2 * Math.PI * 523 * i) / 16000));
    const wav = new WaveFile();
    wav.fromScratch(1, 16000, "16", s);
    const path = `/tmp/moh-custom-${process.pid}-${Date.now()}.wav`;
    await Bun.write(path, wav.toBuffer());
    try {
      const ok = loadMohSources(path);
      expect(ok.warning).toBeNull();
      expect([...ok.sources.keys()]).toEqual(["default", "legacy", "beep", "custom"]);
      const custom = ok.sources.get("custom")?.samples as Int16Array;
      expect(goertzelAmplitude(custom, 0, 16000, 523, 16000)).toBeGreaterThan(4900);
    } finally {
      await Bun.file(path).delete();
    }
    const missing = loadMohSources("/nonexistent/custom.wav");
    expect(missing.warning).toContain("cannot read");
    expect(missing.sources.has("custom")).toBe(false);
    expect(loadMohSources().sources.size).toBe(3);
  });
});
