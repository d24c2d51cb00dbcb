/**
 * Time-resolved measurements of a recording: tone levels per short frame (Hann-windowed
 * Goertzel, so a strong tone 100 Hz away does not leak into the one measured), short
 * tone patterns such as the entry and exit tones, overall energy and a coarse spectrum.
 */

/** Level in dBFS of a sine of `hz` over samples[from, to), Hann-windowed. */
export function hannToneDb(samples: Int16Array, rate: number, hz: number, from: number, to: number): number {
  const n = to - from;
  if (n <= 1 || from < 0 || to > samples.length) return -120;
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    wsum += w;
    const s0 = (w * samples[from + i]!) / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  const amp = (2 * Math.sqrt(Math.max(power, 0))) / wsum;
  return 20 * Math.log10(amp + 1e-9);
}

/** Levels (dBFS) of `hz` in frames of `frameSeconds`, hopping by `hopSeconds`, over [fromS, toS). */
export function toneTrack(
  samples: Int16Array,
  rate: number,
  hz: number,
  fromS = 0,
  toS = samples.length / rate,
  frameSeconds = 0.04,
  hopSeconds = 0.01,
): { t: number; db: number }[] {
  const frame = Math.round(frameSeconds * rate);
  const hop = Math.max(1, Math.round(hopSeconds * rate));
  const end = Math.min(samples.length, Math.round(toS * rate));
  const out: { t: number; db: number }[] = [];
  for (let a = Math.max(0, Math.round(fromS * rate)); a + frame <= end; a += hop) {
    out.push({ t: a / rate, db: hannToneDb(samples, rate, hz, a, a + frame) });
  }
  return out;
}

/**
 * Start times of a two-note pattern: `first` above `minDb` (and clearly above `second`),
 * then within `gapSeconds` `second` above `minDb` (and clearly above `first`). The entry
 * tone is 587 Hz then 880 Hz; the exit tone the other way round.
 */
export function findTwoNotes(
  samples: Int16Array,
  rate: number,
  first: number,
  second: number,
  fromS = 0,
  toS = samples.length / rate,
  minDb = -30,
  gapSeconds = 0.25,
): number[] {
  const a = toneTrack(samples, rate, first, fromS, toS);
  const b = toneTrack(samples, rate, second, fromS, toS);
  const hits: number[] = [];
  const hop = a.length > 1 ? a[1]!.t - a[0]!.t : 0.01;
  const within = Math.round(gapSeconds / hop);
  for (let i = 0; i < a.length; i++) {
    if (!(a[i]!.db > minDb && a[i]!.db > b[i]!.db + 10)) continue;
    let found = false;
    for (let j = i + 1; j < Math.min(a.length, i + within); j++) {
      if (b[j]!.db > minDb && b[j]!.db > a[j]!.db + 10) {
        found = true;
        break;
      }
    }
    if (!found) continue;
    const t = a[i]!.t;
    if (hits.length === 0 || t - hits[hits.length - 1]! > 0.5) hits.push(t);
  }
  return hits;
}

/** RMS level (dBFS) of samples over [fromS, toS). */
export function rmsDb(samples: Int16Array, rate: number, fromS: number, toS: number): number {
  const from = Math.max(0, Math.round(fromS * rate));
  const to = Math.min(samples.length, Math.round(toS * rate));
  if (to <= from) return -120;
  let e = 0;
  for (let i = from; i < to; i++) e += (samples[i]! / 32768) ** 2;
  return 10 * Math.log10(e / (to - from) + 1e-12);
}

/** Fraction of `frameSeconds` frames in [fromS, toS) whose RMS is above `minDb`. */
export function activeFraction(
  samples: Int16Array,
  rate: number,
  fromS: number,
  toS: number,
  minDb = -45,
  frameSeconds = 0.1,
): number {
  let n = 0;
  let active = 0;
  for (let t = fromS; t + frameSeconds <= toS; t += frameSeconds) {
    n++;
    if (rmsDb(samples, rate, t, t + frameSeconds) > minDb) active++;
  }
  return n ? active / n : 0;
}

/** The loudest `frameSeconds` frame's level of `hz` in [fromS, toS) (for beeps and short notes). */
export function peakToneDb(
  samples: Int16Array,
  rate: number,
  hz: number,
  fromS: number,
  toS: number,
  frameSeconds = 0.1,
): number {
  let best = -120;
  for (const f of toneTrack(samples, rate, hz, fromS, toS, frameSeconds, frameSeconds / 2)) best = Math.max(best, f.db);
  return best;
}

/**
 * Average power per semitone band (A2 = 110 Hz up to about 3.3 kHz) over [fromS, toS),
 * from Hann frames of 100 ms: a coarse spectrum that tells one piece of music from another.
 */
export function semitoneSpectrum(samples: Int16Array, rate: number, fromS: number, toS: number): Float64Array {
  const bands = 60;
  const out = new Float64Array(bands);
  const frame = Math.round(0.1 * rate);
  let frames = 0;
  for (let a = Math.max(0, Math.round(fromS * rate)); a + frame <= Math.min(samples.length, Math.round(toS * rate)); a += frame) {
    frames++;
    for (let b = 0; b < bands; b++) {
      const db = hannToneDb(samples, rate, 110 * 2 ** (b / 12), a, a + frame);
      out[b] = out[b]! + 10 ** (db / 10);
    }
  }
  if (frames) for (let b = 0; b < bands; b++) out[b] = out[b]! / frames;
  return out;
}

/** Cosine similarity of two spectra (1: the same shape, 0: nothing in common). */
export function spectrumSimilarity(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa && bb ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * Onsets (seconds) of a tone that comes and goes, such as the `beep` music: times where
 * its level rises above `minDb`, at least `minGapSeconds` apart.
 */
export function toneOnsets(
  samples: Int16Array,
  rate: number,
  hz: number,
  fromS: number,
  toS: number,
  minDb = -30,
  minGapSeconds = 0.3,
): number[] {
  const out: number[] = [];
  let above = true; // a tone already sounding at fromS is not an onset
  for (const f of toneTrack(samples, rate, hz, fromS, toS)) {
    const now = f.db > minDb;
    if (now && !above && (out.length === 0 || f.t - out[out.length - 1]! >= minGapSeconds)) out.push(f.t);
    above = now;
  }
  return out;
}
