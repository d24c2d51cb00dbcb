/**
 * Goertzel single-bin DFT: the amplitude of one frequency in a block of samples.
 * Used by the in-band DTMF detector and by tests that check "who hears what".
 * Exact (non-integer bin) frequencies are allowed.
 */

/**
 * Amplitude (same unit as the samples, peak) of `freq` Hz in `n` samples from `off`.
 * A pure sine of amplitude A at `freq` yields about A when the block holds many periods.
 * @example goertzelAmplitude(pcm, 0, 320, 1000, 16000) // ~ 8000 for an 8000-peak 1 kHz tone
 */
export function goertzelAmplitude(samples: ArrayLike<number>, off: number, n: number, freq: number, sampleRate: number): number {
  const w = (2 * Math.PI * freq) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = (samples[off + i] as number) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(power > 0 ? power : 0)) / n;
}

/**
 * Root-mean-square of `n` samples from `off`.
 * @example rms(pcm, 0, 320)
 */
export function rms(samples: ArrayLike<number>, off: number, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[off + i] as number;
    acc += v * v;
  }
  return n > 0 ? Math.sqrt(acc / n) : 0;
}
