/**
 * Synthesised tones and music-on-hold sources, precomputed once at 16 kHz.
 *
 * Everything here is built at start-up (a few hundred kilobytes); at run time a
 * source only copies 320 samples per 20 ms tick, so the per-frame path does no
 * arithmetic beyond that and allocates nothing. Music stays under 3.4 kHz so it
 * survives the telephone band unchanged.
 */

/** The mixer's internal sample rate. */
export const MIX_RATE = 16000;
/** Samples per 20 ms frame at the mix rate. */
export const MIX_FRAME = 320;

const TAU = 2 * Math.PI;

/** One partial of a note: frequency in Hz and linear amplitude (peak, 16-bit scale). */
interface Partial {
  freq: number;
  amp: number;
}

/**
 * A tone of one or more simultaneous frequencies with raised-cosine edges.
 * @example synthTone([440, 480], 2000, 4000) // ringback burst
 */
export function synthTone(freqs: readonly number[], ms: number, amplitude: number, fadeMs = 5): Int16Array {
  const n = Math.round((ms * MIX_RATE) / 1000);
  const out = new Int16Array(n);
  const fade = Math.min(Math.round((fadeMs * MIX_RATE) / 1000), n >> 1);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (const f of freqs) v += Math.sin((TAU * f * i) / MIX_RATE);
    let env = 1;
    if (i < fade) env = 0.5 - 0.5 * Math.cos((Math.PI * i) / fade);
    else if (i >= n - fade) env = 0.5 - 0.5 * Math.cos((Math.PI * (n - 1 - i)) / fade);
    out[i] = Math.round(v * amplitude * env);
  }
  return out;
}

/**
 * Silence of the given length at the mix rate.
 * @example silence(500)
 */
export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round((ms * MIX_RATE) / 1000));
}

/**
 * Concatenates clips; pads the result to whole 20 ms frames when `frameAlign` (for loops).
 * @example concat([synthTone([600], 100, 6000), synthTone([900], 150, 6000)])
 */
export function concat(clips: readonly Int16Array[], frameAlign = false): Int16Array {
  let n = clips.reduce((a, c) => a + c.length, 0);
  if (frameAlign) n = Math.ceil(n / MIX_FRAME) * MIX_FRAME;
  const out = new Int16Array(n);
  let pos = 0;
  for (const c of clips) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** Entry tone: two rising notes. */
export const ENTRY_TONE = concat([synthTone([587], 110, 6000), synthTone([880], 160, 6000)]);
/** Exit tone: two falling notes. */
export const EXIT_TONE = concat([synthTone([880], 110, 6000), synthTone([587], 160, 6000)]);
/** Beep before a name recording. */
export const BEEP = synthTone([1000], 250, 7000);
/** One ringback cycle (North American: 440 + 480 Hz, 2 s on, 4 s off). */
export const RINGBACK = concat([synthTone([440, 480], 2000, 3500, 10), silence(4000)], true);

/** Equal-tempered frequency of a MIDI note number. */
function midi(note: number): number {
  return 440 * 2 ** ((note - 69) / 12);
}

/** Adds a note with an attack/decay envelope into `buf` starting at `startMs`. */
function addNote(buf: Float64Array, startMs: number, ms: number, partials: readonly Partial[], decayMs: number): void {
  const start = Math.round((startMs * MIX_RATE) / 1000);
  const n = Math.round((ms * MIX_RATE) / 1000);
  const attack = Math.round(0.008 * MIX_RATE);
  const release = Math.round(0.03 * MIX_RATE);
  const decay = (decayMs * MIX_RATE) / 1000;
  for (let i = 0; i < n; i++) {
    const idx = (start + i) % buf.length;
    let env = Math.exp(-i / decay);
    if (i < attack) env *= i / attack;
    if (i > n - release) env *= (n - i) / release;
    let v = 0;
    for (const p of partials) if (p.freq < 3400) v += p.amp * Math.sin((TAU * p.freq * i) / MIX_RATE);
    buf[idx] = (buf[idx] as number) + v * env;
  }
}

function toInt16(buf: Float64Array, peak: number): Int16Array {
  let max = 1;
  for (const v of buf) if (Math.abs(v) > max) max = Math.abs(v);
  const out = new Int16Array(buf.length);
  const k = peak / max;
  for (let i = 0; i < buf.length; i++) out[i] = Math.round((buf[i] as number) * k);
  return out;
}

/** A gentle chord progression (C - Am - F - G) with a soft arpeggio: the `default` music. */
function makeDefaultMusic(): Int16Array {
  const beatMs = 500;
  const chords = [
    [48, 60, 64, 67],
    [45, 57, 60, 64],
    [41, 57, 60, 65],
    [43, 55, 59, 62],
  ];
  const buf = new Float64Array(((chords.length * 4 * beatMs) / 1000) * MIX_RATE);
  chords.forEach((chord, ci) => {
    const t0 = ci * 4 * beatMs;
    for (const note of chord) {
      const f = midi(note);
      addNote(
        buf,
        t0,
        4 * beatMs,
        [
          { freq: f, amp: 0.5 },
          { freq: f * 2, amp: 0.12 },
        ],
        3000,
      );
    }
    const arp = [chord[1], chord[2], chord[3], (chord[1] as number) + 12, chord[3], chord[2], chord[1], chord[2]];
    arp.forEach((note, k) => {
      const f = midi((note as number) + 12);
      addNote(
        buf,
        t0 + k * (beatMs / 2),
        beatMs / 2,
        [
          { freq: f, amp: 0.35 },
          { freq: f * 2, amp: 0.08 },
        ],
        200,
      );
    });
  });
  return toInt16(buf, 7000);
}

/** An old-style single-voice melody (Greensleeves, traditional) in a square-ish timbre: `legacy`. */
function makeLegacyMusic(): Int16Array {
  // [MIDI note, beats]; 0 is a rest. Beat = 300 ms (a lilting 6/8). The A strain opens
  // its two halves with the same phrase.
  const opening: [number, number][] = [
    [57, 1],
    [60, 2],
    [62, 1],
    [64, 1.5],
    [65, 0.5],
    [64, 1],
    [62, 2],
    [59, 1],
    [55, 1.5],
    [57, 0.5],
    [59, 1],
  ];
  const tune: [number, number][] = [
    ...opening,
    [60, 2],
    [57, 1],
    [57, 1.5],
    [56, 0.5],
    [57, 1],
    [59, 2],
    [56, 1],
    [52, 2],
    ...opening,
    [60, 1.5],
    [59, 0.5],
    [57, 1],
    [56, 1.5],
    [54, 0.5],
    [56, 1],
    [57, 3],
    [0, 3],
  ];
  const beatMs = 300;
  const totalMs = tune.reduce((a, [, b]) => a + b * beatMs, 0);
  const buf = new Float64Array(Math.ceil(((totalMs / 1000) * MIX_RATE) / MIX_FRAME) * MIX_FRAME);
  let t = 0;
  for (const [note, beats] of tune) {
    const ms = beats * beatMs;
    if (note > 0) {
      const f = midi(note + 12);
      addNote(
        buf,
        t,
        ms * 0.92,
        [1, 3, 5, 7].map((h) => ({ freq: f * h, amp: 1 / h })),
        900,
      );
    }
    t += ms;
  }
  return toInt16(buf, 6500);
}

/** A short beep every two seconds: `beep`. */
function makeBeepMusic(): Int16Array {
  return concat([synthTone([800], 180, 5000), silence(1820)], true);
}

/** Names of the music-on-hold sources (`custom` only when its WAV file is supplied). */
export const MOH_NAMES = ["default", "legacy", "beep", "custom"] as const;
/** A music-on-hold source name. */
export type MohName = (typeof MOH_NAMES)[number];

/**
 * An endless source of 20 ms frames cut from a precomputed loop. Within a meeting
 * everyone listening to it hears the same frame (like a radio), encoded once per codec
 * per tick; each meeting's mixer keeps its own place in the loop (`frameAt`).
 * @example const src = new LoopSource("beep", samples); src.next(frame, 0);
 */
export class LoopSource {
  readonly name: string;
  readonly samples: Int16Array;
  private pos = 0;

  constructor(name: string, samples: Int16Array) {
    if (samples.length === 0) throw new RangeError(`loop "${name}" is empty`);
    this.name = name;
    this.samples = samples;
  }

  /** Copies the next `MIX_FRAME` samples into `dst[off..]`, wrapping around the loop. */
  next(dst: Int16Array, off: number): void {
    this.pos = this.frameAt(this.pos, dst, off);
  }

  /**
   * Copies the frame starting at `pos` into `dst[off..]` and returns where the next one
   * starts: for a listener that keeps its own place in the loop (each mixer does, so
   * meetings sharing one source do not advance it for each other).
   */
  frameAt(pos: number, dst: Int16Array, off: number): number {
    const s = this.samples;
    const len = s.length;
    let p = pos;
    for (let i = 0; i < MIX_FRAME; i++) {
      dst[off + i] = s[p] as number;
      if (++p === len) p = 0;
    }
    return p;
  }

  /** Back to the start of the loop. */
  rewind(): void {
    this.pos = 0;
  }
}

/**
 * Builds the synthesised music-on-hold sources, plus `custom` when `custom` samples
 * (16 kHz mono, e.g. from `loadWavFile`) are given.
 * @example const moh = createMohSources(); moh.get("default")
 */
export function createMohSources(custom?: Int16Array): Map<string, LoopSource> {
  const map = new Map<string, LoopSource>();
  map.set("default", new LoopSource("default", makeDefaultMusic()));
  map.set("legacy", new LoopSource("legacy", makeLegacyMusic()));
  map.set("beep", new LoopSource("beep", makeBeepMusic()));
  if (custom && custom.length > 0) map.set("custom", new LoopSource("custom", custom));
  return map;
}
