/**
 * 8 kHz <-> 16 kHz sample-rate conversion for 20 ms frames.
 *
 * The meeting mixes at 16 kHz; G.711 callers are upsampled when they talk and the
 * shared mix is downsampled once per tick. Both directions use one 63-tap half-band
 * FIR (Kaiser window, beta 6.8): passband to ~3.45 kHz, stopband from ~4.55 kHz at
 * about -70 dB, so telephone-band tones neither image nor alias. Half of a half-band
 * filter's taps are zero and the rest are symmetric, so each output costs 16
 * multiplies. The filters are stateful across frames: state lives either in an
 * `Upsampler2x`/`Downsampler2x` object or, for the mixer's struct-of-arrays, in a
 * caller-provided region of an Int16Array (`UP_HISTORY` / `DOWN_HISTORY` samples).
 * Nothing allocates per frame; a module-level scratch buffer is reused (JS is single
 * threaded per isolate).
 */

const HALF = 31; // filter spans k = -31..31
/** History samples (input rate) an upsampler keeps per stream. */
export const UP_HISTORY = 31;
/** History samples (input rate) a downsampler keeps per stream. */
export const DOWN_HISTORY = 62;
/** Largest frame (input samples) the converters accept in one call. */
export const MAX_RESAMPLE_INPUT = 1920;

function kaiser(k: number, m: number, beta: number): number {
  const r = k / m;
  return besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(beta);
}
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let i = 1; i < 50; i++) {
    term *= (x / (2 * i)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

/** h[k] for odd k = 2i-31, i = 0..15 (the other half is the mirror image). */
const ODD = new Float64Array(16);
{
  let sum = 0.5;
  const raw = new Float64Array(16);
  for (let i = 0; i < 16; i++) {
    const k = 2 * i - HALF;
    const x = (Math.PI * k) / 2;
    raw[i] = 0.5 * (Math.sin(x) / x) * kaiser(k, HALF + 1, 6.8);
    sum += 2 * (raw[i] as number);
  }
  // Normalise for exact unity gain at DC: odd taps must add up to 0.5.
  const scale = 0.5 / (sum - 0.5);
  for (let i = 0; i < 16; i++) ODD[i] = (raw[i] as number) * scale;
}

const work = new Int16Array(DOWN_HISTORY + MAX_RESAMPLE_INPUT);

function sat(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

/** Puts a stream's `H` samples of history, then the frame's `n` samples, in `work` (both resamplers filter over that run). */
function loadWork(src: Int16Array, srcOff: number, n: number, hist: Int16Array, histOff: number, H: number): void {
  if (n > MAX_RESAMPLE_INPUT) throw new RangeError(`frame of ${n} samples exceeds MAX_RESAMPLE_INPUT`);
  for (let i = 0; i < H; i++) work[i] = hist[histOff + i] as number;
  for (let i = 0; i < n; i++) work[H + i] = src[srcOff + i] as number;
}

/**
 * Upsamples `n` samples (8 kHz) from `src[srcOff..]` into `2n` samples (16 kHz) at
 * `dst[dstOff..]`; `hist[histOff .. histOff+UP_HISTORY)` is the stream's state
 * (zeroed for a new stream). Delay: 31 output samples.
 * @example upsample2x(pcm8, 0, 160, pcm16, 0, state, 0)
 */
export function upsample2x(
  src: Int16Array,
  srcOff: number,
  n: number,
  dst: Int16Array,
  dstOff: number,
  hist: Int16Array,
  histOff: number,
): void {
  const H = UP_HISTORY;
  loadWork(src, srcOff, n, hist, histOff, H);
  const c = ODD;
  for (let j = 0; j < n; j++) {
    const b = H + j; // work[b - i] is x[j - i]
    let acc = 0;
    for (let i = 0; i < 16; i++) acc += (c[i] as number) * ((work[b - i] as number) + (work[b - 31 + i] as number));
    dst[dstOff + 2 * j] = sat(2 * acc);
    dst[dstOff + 2 * j + 1] = work[b - 15] as number;
  }
  for (let i = 0; i < H; i++) hist[histOff + i] = work[n + i] as number;
}

/**
 * Downsamples `n` samples (16 kHz, n even) from `src[srcOff..]` into `n/2` samples
 * (8 kHz) at `dst[dstOff..]`; `hist[histOff .. histOff+DOWN_HISTORY)` is the state.
 * @example downsample2x(mix16, 0, 320, pcm8, 0, state, 0)
 */
export function downsample2x(
  src: Int16Array,
  srcOff: number,
  n: number,
  dst: Int16Array,
  dstOff: number,
  hist: Int16Array,
  histOff: number,
): void {
  const H = DOWN_HISTORY;
  loadWork(src, srcOff, n, hist, histOff, H);
  const c = ODD;
  const outN = n >> 1;
  for (let j = 0; j < outN; j++) {
    const b = H + 2 * j; // work[b - m] is u[2j - m]
    let acc = 0.5 * (work[b - 31] as number);
    for (let i = 0; i < 16; i++) acc += (c[i] as number) * ((work[b - 2 * i] as number) + (work[b - 62 + 2 * i] as number));
    dst[dstOff + j] = sat(acc);
  }
  for (let i = 0; i < H; i++) hist[histOff + i] = work[n + i] as number;
}

/**
 * Feeds a frame into an upsampler's history without producing output: keeps a
 * stream's filter state current while its output is not needed (a silent caller in
 * the mixer), so it starts cleanly when it is.
 * @example primeUpsampler(pcm8, 0, 160, state, 0)
 */
export function primeUpsampler(src: Int16Array, srcOff: number, n: number, hist: Int16Array, histOff: number): void {
  const H = UP_HISTORY;
  if (n >= H) {
    for (let i = 0; i < H; i++) hist[histOff + i] = src[srcOff + n - H + i] as number;
    return;
  }
  for (let i = 0; i < H - n; i++) hist[histOff + i] = hist[histOff + i + n] as number;
  for (let i = 0; i < n; i++) hist[histOff + H - n + i] = src[srcOff + i] as number;
}

/**
 * Stateful 8 kHz -> 16 kHz converter for one stream.
 * @example const up = new Upsampler2x(); up.process(pcm8, 0, 160, pcm16, 0);
 */
export class Upsampler2x {
  readonly state = new Int16Array(UP_HISTORY);
  /** Converts `n` input samples into `2n` output samples. */
  process(src: Int16Array, srcOff: number, n: number, dst: Int16Array, dstOff: number): void {
    upsample2x(src, srcOff, n, dst, dstOff, this.state, 0);
  }
  /** Forgets the stream's history. */
  reset(): void {
    this.state.fill(0);
  }
}

/**
 * Stateful 16 kHz -> 8 kHz converter for one stream.
 * @example const down = new Downsampler2x(); down.process(mix16, 0, 320, pcm8, 0);
 */
export class Downsampler2x {
  readonly state = new Int16Array(DOWN_HISTORY);
  /** Converts `n` (even) input samples into `n/2` output samples. */
  process(src: Int16Array, srcOff: number, n: number, dst: Int16Array, dstOff: number): void {
    downsample2x(src, srcOff, n, dst, dstOff, this.state, 0);
  }
  /** Forgets the stream's history. */
  reset(): void {
    this.state.fill(0);
  }
}
