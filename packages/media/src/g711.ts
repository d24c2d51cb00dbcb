/**
 * G.711 µ-law (PCMU) and A-law (PCMA) codecs, table driven.
 *
 * Decoding is one lookup in a 256-entry Int16Array; encoding is one lookup in a
 * 65,536-entry Uint8Array indexed by `sample + 32768`. Both tables are built once
 * at module load from the classic segment algorithms (kept exported as
 * `linearToUlaw`/`linearToAlaw` for tests and the benchmark). Measured on the
 * project machine by `bench-mixer.ts` (Bun 1.4.5): a 160-sample frame takes ~150-250 ns
 * with the 64 KiB table against ~260-350 ns with the segment search, so the table is
 * the default (it is touched once per codec per tick, so it stays cached).
 *
 * Frame functions take offsets instead of subarrays so the per-packet path
 * allocates nothing.
 */

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

/** floor(log2(i)) for i in 1..255 (0 for 0): µ-law exponent of a biased sample's top byte. */
const EXP_LUT = new Uint8Array(256);
for (let i = 2; i < 256; i++) EXP_LUT[i] = (EXP_LUT[i >> 1] ?? 0) + 1;
EXP_LUT[1] = 0;

/**
 * Encodes one 16-bit linear sample to µ-law with the segment method (no table).
 * @example linearToUlaw(0) // 0xff
 */
export function linearToUlaw(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > ULAW_CLIP) s = ULAW_CLIP;
  s += ULAW_BIAS;
  const exponent = EXP_LUT[(s >> 7) & 0xff] ?? 0;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/**
 * Decodes one µ-law byte to a 16-bit linear sample.
 * @example ulawToLinear(0x00) // -32124
 */
export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return u & 0x80 ? 0 - magnitude : magnitude;
}

const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;

/**
 * Encodes one 16-bit linear sample to A-law with the segment method (no table).
 * @example linearToAlaw(0) // 0xd5
 */
export function linearToAlaw(sample: number): number {
  let pcm = (sample | 0) >> 3;
  let mask: number;
  if (pcm >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let seg = 0;
  while (seg < 8 && pcm > (ALAW_SEG_END[seg] ?? 0)) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
  return aval ^ mask;
}

/**
 * Decodes one A-law byte to a 16-bit linear sample.
 * @example alawToLinear(0xd5) // 8
 */
export function alawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/** µ-law byte -> linear sample. */
export const ULAW_DECODE = new Int16Array(256);
/** A-law byte -> linear sample. */
export const ALAW_DECODE = new Int16Array(256);
/** (linear sample + 32768) -> µ-law byte. */
export const ULAW_ENCODE = new Uint8Array(65536);
/** (linear sample + 32768) -> A-law byte. */
export const ALAW_ENCODE = new Uint8Array(65536);

for (let i = 0; i < 256; i++) {
  ULAW_DECODE[i] = ulawToLinear(i);
  ALAW_DECODE[i] = alawToLinear(i);
}
for (let i = 0; i < 65536; i++) {
  ULAW_ENCODE[i] = linearToUlaw(i - 32768);
  ALAW_ENCODE[i] = linearToAlaw(i - 32768);
}

/**
 * Decodes `n` µ-law bytes from `src[srcOff..]` into `dst[dstOff..]`.
 * @example decodeUlaw(payload, 0, pcm, 0, 160)
 */
export function decodeUlaw(src: Uint8Array, srcOff: number, dst: Int16Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = ULAW_DECODE[src[srcOff + i] as number] as number;
}

/**
 * Decodes `n` A-law bytes from `src[srcOff..]` into `dst[dstOff..]`.
 * @example decodeAlaw(payload, 0, pcm, 0, 160)
 */
export function decodeAlaw(src: Uint8Array, srcOff: number, dst: Int16Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = ALAW_DECODE[src[srcOff + i] as number] as number;
}

/**
 * Encodes `n` linear samples from `src[srcOff..]` to µ-law bytes in `dst[dstOff..]`.
 * @example encodeUlaw(pcm, 0, payload, 12, 160)
 */
export function encodeUlaw(src: Int16Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = ULAW_ENCODE[(src[srcOff + i] as number) + 32768] as number;
}

/**
 * Encodes `n` linear samples from `src[srcOff..]` to A-law bytes in `dst[dstOff..]`.
 * @example encodeAlaw(pcm, 0, payload, 12, 160)
 */
export function encodeAlaw(src: Int16Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = ALAW_ENCODE[(src[srcOff + i] as number) + 32768] as number;
}

/** µ-law silence byte (encodes 0). */
export const ULAW_SILENCE = 0xff;
/** A-law silence byte (encodes 0). */
export const ALAW_SILENCE = 0xd5;
