/**
 * Which IVR prompt a caller heard, and when: normalised cross-correlation (NCC) of the
 * caller's recording against the prompt clip as it reaches a PCMU caller (the 8 kHz
 * file after a µ-law round trip). A clip that was played scores close to 1 at its
 * start; unrelated speech, music or tones score far lower.
 *
 * The correlation runs through an FFT (a recording of half a minute against a clip of
 * three seconds is 10^9 products the direct way). The radix-2 FFT below is hand-written
 * because the test workspace has no DSP dependency and these twenty lines are all it needs.
 */
import { join } from "node:path";
import { WaveFile } from "wavefile";
import { readWav } from "./spectrum.ts";

/** The committed prompt clips of the mixer. */
export const PROMPT_DIR = join(import.meta.dir, "..", "..", "packages", "media", "assets", "prompts");

/**
 * A score at or above this means the clip was heard: a played clip scores about 1.0, a
 * different prompt up to about 0.7 (two prompts that begin with the same words).
 */
export const PROMPT_HEARD_SCORE = 0.8;

/** In-place iterative radix-2 FFT of (re, im); `inverse` gives the unscaled inverse. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

/**
 * NCC of `clip` against `signal` at every lag: ncc[k] compares signal[k, k + clip.length)
 * with the clip, both with their means removed. Past its end the signal counts as
 * silence, so a clip cut short by the end of a recording still scores (about the square
 * root of the share that is there). Windows of near silence score 0.
 */
export function normalizedCrossCorrelation(signal: ArrayLike<number>, clip: ArrayLike<number>): Float64Array {
  const n = signal.length + clip.length;
  const m = clip.length;
  if (m === 0 || signal.length === 0) return new Float64Array(0);
  let mean = 0;
  for (let i = 0; i < m; i++) mean += clip[i]!;
  mean /= m;
  const c = new Float64Array(m);
  let cNorm = 0;
  for (let i = 0; i < m; i++) {
    c[i] = clip[i]! - mean;
    cNorm += c[i]! * c[i]!;
  }
  cNorm = Math.sqrt(cNorm);
  let size = 1;
  while (size < n + m) size <<= 1;
  const xr = new Float64Array(size);
  const xi = new Float64Array(size);
  const cr = new Float64Array(size);
  const ci = new Float64Array(size);
  for (let i = 0; i < signal.length; i++) xr[i] = signal[i]!;
  cr.set(c);
  fft(xr, xi, false);
  fft(cr, ci, false);
  // X * conj(C): the correlation, not the convolution.
  for (let i = 0; i < size; i++) {
    const r = xr[i]! * cr[i]! + xi[i]! * ci[i]!;
    const im = xi[i]! * cr[i]! - xr[i]! * ci[i]!;
    xr[i] = r;
    xi[i] = im;
  }
  fft(xr, xi, true);
  // Local sums of the signal and its square, for each window's variance.
  const s1 = new Float64Array(n + 1);
  const s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = i < signal.length ? signal[i]! : 0;
    s1[i + 1] = s1[i]! + v;
    s2[i + 1] = s2[i]! + v * v;
  }
  const out = new Float64Array(signal.length);
  // Below about -60 dBFS RMS a window is silence: no match, whatever its shape.
  const floor = m * 32 * 32;
  for (let k = 0; k < signal.length; k++) {
    const sum = s1[k + m]! - s1[k]!;
    const energy = s2[k + m]! - s2[k]! - (sum * sum) / m;
    if (energy < floor) continue;
    out[k] = xr[k]! / size / (cNorm * Math.sqrt(energy));
  }
  return out;
}

/** µ-law encode and decode, as a PCMU call does to every sample. */
export function muLawRoundTrip(samples: Int16Array, rate: number): Int16Array {
  const wav = new WaveFile();
  wav.fromScratch(1, rate, "16", Array.from(samples));
  wav.toMuLaw();
  wav.fromMuLaw();
  return wav.getSamples(false, Int16Array) as unknown as Int16Array;
}

const clipCache = new Map<string, { samples: Int16Array; rate: number }>();

/** A prompt clip as a PCMU caller receives it (8 kHz, µ-law round trip). */
export function promptClip(name: string): { samples: Int16Array; rate: number } {
  let c = clipCache.get(name);
  if (!c) {
    const wav = readWav(join(PROMPT_DIR, `${name}.wav`));
    if (wav.rate !== 8000) throw new Error(`prompt ${name}: expected 8 kHz, got ${wav.rate}`);
    c = { samples: muLawRoundTrip(wav.samples, wav.rate), rate: wav.rate };
    clipCache.set(name, c);
  }
  return c;
}

/** The best match of one clip in a recording: its score and where it starts. */
export interface ClipMatch {
  name: string;
  score: number;
  /** Start of the best match, seconds from the start of the recording. */
  atSeconds: number;
  /** Length of the clip, seconds. */
  seconds: number;
}

/**
 * What one caller heard (a 16-bit WAV of the decoded audio), searched for prompt clips.
 * @example
 * const heard = HeardAudio.fromFile(caller.recording());
 * expect(heard.find("hand-raised").score).toBeGreaterThan(PROMPT_HEARD_SCORE);
 */
export class HeardAudio {
  readonly samples: Int16Array;
  readonly rate: number;
  private readonly ncc = new Map<string, Float64Array>();

  constructor(samples: Int16Array, rate: number) {
    this.samples = samples;
    this.rate = rate;
  }

  /** What a caller heard, from its recording (16-bit PCM WAV). */
  static fromFile(path: string): HeardAudio {
    const w = readWav(path);
    return new HeardAudio(w.samples, w.rate);
  }

  get seconds(): number {
    return this.samples.length / this.rate;
  }

  private scores(name: string): Float64Array {
    let s = this.ncc.get(name);
    if (!s) {
      const clip = promptClip(name);
      if (clip.rate !== this.rate) throw new Error(`recording is ${this.rate} Hz, prompt ${name} is ${clip.rate} Hz`);
      s = normalizedCrossCorrelation(this.samples, clip.samples);
      this.ncc.set(name, s);
    }
    return s;
  }

  /** The best match of prompt `name` starting within [fromSeconds, toSeconds). */
  find(name: string, fromSeconds = 0, toSeconds = Number.POSITIVE_INFINITY): ClipMatch {
    const s = this.scores(name);
    const from = Math.max(0, Math.floor(fromSeconds * this.rate));
    const to = Math.min(s.length, Math.ceil(toSeconds * this.rate));
    let best = 0;
    let at = -1;
    for (let k = from; k < to; k++) {
      if (s[k]! > best) {
        best = s[k]!;
        at = k;
      }
    }
    return { name, score: best, atSeconds: at / this.rate, seconds: promptClip(name).samples.length / this.rate };
  }

  /** Whether prompt `name` was heard (starting within the window). */
  heard(name: string, fromSeconds = 0, toSeconds = Number.POSITIVE_INFINITY): boolean {
    return this.find(name, fromSeconds, toSeconds).score >= PROMPT_HEARD_SCORE;
  }

  /** Start times (seconds) of every occurrence of prompt `name`, in order. */
  occurrences(name: string, threshold = PROMPT_HEARD_SCORE): number[] {
    const s = this.scores(name);
    const gap = promptClip(name).samples.length;
    const out: number[] = [];
    let k = 0;
    while (k < s.length) {
      if (s[k]! < threshold) {
        k++;
        continue;
      }
      // The peak within one clip length is the occurrence.
      let peak = k;
      for (let j = k; j < Math.min(s.length, k + gap); j++) if (s[j]! > s[peak]!) peak = j;
      out.push(peak / this.rate);
      k = peak + gap;
    }
    return out;
  }

  /**
   * The prompts heard back to back in this order (as one prompt queue plays them), the
   * first starting within the window: their matches, or null when one is missing.
   */
  sequence(names: readonly string[], fromSeconds = 0, toSeconds = Number.POSITIVE_INFINITY): ClipMatch[] | null {
    const [head, ...rest] = names;
    if (head === undefined) return [];
    // The first prompt may have been heard more than once: try each time.
    for (const at of this.occurrences(head)) {
      if (at < fromSeconds || at >= toSeconds) continue;
      const out = [this.find(head, at, at + 1 / this.rate)];
      for (const name of rest) {
        const prev = out[out.length - 1]!;
        // The next clip starts right where the previous one ends (give or take a frame).
        const end = prev.atSeconds + prev.seconds;
        const m = this.find(name, end - 0.1, end + 0.3);
        if (m.score < PROMPT_HEARD_SCORE) break;
        out.push(m);
      }
      if (out.length === names.length) return out;
    }
    return null;
  }

  /** Scores of several prompts over the window, for assertion messages. */
  report(names: readonly string[], fromSeconds = 0, toSeconds = Number.POSITIVE_INFINITY): string {
    return names
      .map((n) => {
        const m = this.find(n, fromSeconds, toSeconds);
        return `${n}=${m.score.toFixed(2)}@${m.atSeconds.toFixed(2)}s`;
      })
      .join(" ");
  }
}
