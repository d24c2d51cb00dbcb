/**
 * Synthetic talkers: a voice-like PCMU signal and a talk-spurt pattern.
 *
 * The signal is a harmonic series on a slowly gliding pitch (like a voiced vowel), shaped
 * by a ~4 Hz syllable envelope, plus a little noise, at roughly conversational level
 * (about -20 dBFS RMS while voiced). It is precomputed once per talker as a loop of
 * frames, so sending costs a copy. Talk spurts alternate with pauses, during which the
 * talker sends digital silence like a phone without silence suppression.
 */
import { linearToUlaw } from "@conf/media";

export const SAMPLES_PER_FRAME = 160;

/** A loop of encoded frames. */
export interface VoiceLoop {
  frames: Uint8Array[];
}

/** Deterministic PRNG (mulberry32) so runs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Build a loop of `seconds` of voice for talker number `talker` (pitch differs per talker,
 * so a recording can tell them apart), encoded with `encode` (mu-law by default).
 */
export function voiceLoop(
  talker: number,
  seconds = 2,
  encode: (sample: number) => number = linearToUlaw,
  rate = 8000,
): VoiceLoop {
  const rnd = prng(0x5eed + talker * 7919);
  const total = Math.round((seconds * rate) / SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME;
  const f0base = 110 + ((talker * 37) % 120);
  const syllableHz = 3.5 + (talker % 5) * 0.25;
  const pcm = new Float64Array(total);
  let phase = 0;
  for (let n = 0; n < total; n++) {
    const t = n / rate;
    const f0 = f0base * (1 + 0.08 * Math.sin(2 * Math.PI * 0.7 * t));
    phase += (2 * Math.PI * f0) / rate;
    let v = 0;
    // Harmonics with a falling spectrum, like a glottal source through a vowel.
    for (let h = 1; h <= 12; h++) v += Math.sin(h * phase) / h;
    const env = Math.max(0, Math.sin(Math.PI * syllableHz * t)) ** 0.6;
    pcm[n] = (v * 0.75 + (rnd() - 0.5) * 0.15) * env;
  }
  // Scale to about -20 dBFS RMS over the voiced part.
  let sumSq = 0;
  for (const x of pcm) sumSq += x * x;
  const rms = Math.sqrt(sumSq / total) || 1;
  const gain = (32768 * 0.1) / rms;
  const frames: Uint8Array[] = [];
  for (let f = 0; f < total / SAMPLES_PER_FRAME; f++) {
    const frame = new Uint8Array(SAMPLES_PER_FRAME);
    for (let i = 0; i < SAMPLES_PER_FRAME; i++)
      frame[i] = encode(Math.max(-32768, Math.min(32767, Math.round(pcm[f * SAMPLES_PER_FRAME + i]! * gain))));
    frames.push(frame);
  }
  return { frames };
}

/** Talk-spurt schedule: talking for `onMs`, then quiet for `offMs`, offset per talker. */
export interface TalkPattern {
  onMs: number;
  offMs: number;
}

/** Whether a talker is in a spurt at frame `tick` (20 ms ticks since the call started). */
export function isTalking(pattern: TalkPattern, talker: number, tick: number, ptimeMs = 20): boolean {
  if (pattern.offMs <= 0) return true;
  const cycle = pattern.onMs + pattern.offMs;
  const t = (tick * ptimeMs + talker * 977) % cycle;
  return t < pattern.onMs;
}
