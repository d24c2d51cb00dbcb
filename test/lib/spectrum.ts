/** Measures which tones a recording contains: Goertzel power per frequency. */
import { readFileSync } from "node:fs";

/**
 * Reads a 16-bit PCM WAV into samples and rate (the header is parsed, not assumed); of a
 * stereo file (what baresip records of an Opus call) only the first channel.
 */
export function readWav(path: string): { samples: Int16Array; rate: number } {
  const buf = readFileSync(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") throw new Error(`${path}: not a WAV`);
  let off = 12;
  let rate = 8000;
  let channels = 1;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    const size = view.getUint32(off + 4, true);
    if (id === "fmt ") {
      channels = Math.max(1, view.getUint16(off + 10, true));
      rate = view.getUint32(off + 12, true);
    }
    if (id === "data") {
      const n = Math.floor((Math.min(size, buf.length - off - 8) >> 1) / channels);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = view.getInt16(off + 8 + i * 2 * channels, true);
      return { samples, rate };
    }
    off += 8 + size + (size & 1);
  }
  return { samples: new Int16Array(0), rate };
}

/** Normalised Goertzel power of `hz` over samples[from, to), in dB relative to full scale. */
export function toneLevelDb(samples: Int16Array, rate: number, hz: number, from = 0, to = samples.length): number {
  const n = to - from;
  if (n <= 0) return -120;
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = samples[i]! / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  const amp = (2 * Math.sqrt(Math.max(power, 0))) / n;
  return 20 * Math.log10(amp + 1e-9);
}

/** Tone levels of each frequency over the last `seconds` of a recording. */
export function levelsAtEnd(path: string, freqs: number[], seconds: number, skipEndSeconds = 0.5): Record<number, number> {
  const { samples, rate } = readWav(path);
  const to = Math.max(0, samples.length - Math.round(skipEndSeconds * rate));
  const from = Math.max(0, to - Math.round(seconds * rate));
  return Object.fromEntries(freqs.map((f) => [f, toneLevelDb(samples, rate, f, from, to)]));
}

/** The loudest level of `hz` over any `windowSeconds` window (hop of half a window), in dBFS. */
export function peakLevelDb(path: string, hz: number, windowSeconds = 0.5): number {
  const { samples, rate } = readWav(path);
  const w = Math.round(windowSeconds * rate);
  let best = -120;
  for (let from = 0; from + w <= samples.length; from += w >> 1)
    best = Math.max(best, toneLevelDb(samples, rate, hz, from, from + w));
  return best;
}
