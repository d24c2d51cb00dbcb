/** G.711 mu-law, enough to synthesize a talker's frames and to measure what a caller hears. */

const BIAS = 0x84;
const CLIP = 32635;

/** Encode one 16-bit linear sample to mu-law (ITU-T G.711). */
export function linearToUlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Decode one mu-law byte to a 16-bit linear sample. */
export function ulawToLinear(u: number): number {
  const v = ~u & 0xff;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return sign ? -magnitude : magnitude;
}

/** Decode table, so the receive path costs one lookup per byte. */
export const ULAW_DECODE: Int16Array = (() => {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) t[i] = ulawToLinear(i);
  return t;
})();

/** Mu-law byte of digital silence (linear 0). */
export const ULAW_SILENCE = 0xff;

/** Encode one 16-bit linear sample to A-law (ITU-T G.711). */
export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s - 1;
  let out: number;
  if (s < 256) {
    out = s >> 4;
  } else {
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 1; mask >>= 1) exponent--;
    out = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (out | sign) ^ 0x55;
}

/** A-law byte of digital silence. */
export const ALAW_SILENCE = 0xd5;
