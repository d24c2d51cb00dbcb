/**
 * IVR prompts: the English clips under `packages/media/assets/prompts/` (made once with
 * espeak-ng by `packages/media/scripts/make-prompts.sh`), loaded at start-up into 16 kHz Int16Arrays,
 * and the `PromptPlayer` that plays a queue of clips frame by frame.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { WaveFile } from "wavefile";
import { Upsampler2x } from "./resample.ts";
import { type LoopSource, MIX_FRAME, MIX_RATE, createMohSources } from "./tones.ts";

/** Every prompt the IVR and the keypad commands use (file `<name>.wav`). */
export const PROMPT_NAMES = [
  "welcome",
  "enter-code",
  "wrong-code",
  "too-many-tries",
  "try-later",
  "goodbye",
  "locked",
  "first-one",
  "only-one",
  "there-are",
  "there-is",
  "other-people",
  "other-person",
  "muted",
  "unmuted",
  "cannot-unmute",
  "listener-only",
  "meeting-muted",
  "meeting-unmuted",
  "meeting-locked",
  "meeting-unlocked",
  "hold-on",
  "hold-off",
  "host-only",
  "hand-raised",
  "hand-lowered",
  "your-turn",
  "no-hands",
  "recording-started",
  "recording-stopped",
  "tones-on",
  "tones-off",
  "meeting-ending",
  "seconds",
  "minutes",
  "meeting-ended",
  "host-left",
  "wait-for-host",
  "name-record",
  "has-joined",
  "has-left",
  "instructions",
  "instr-count",
  "instr-instructions",
  "instr-mute",
  "instr-meeting-mute",
  "instr-raise-hand",
  "instr-next-hand",
  "instr-lock",
  "instr-hold",
  "instr-tones",
  "instr-drop",
  "instr-recording",
  "instr-moh",
  "star",
  "pound",
  "num-0",
  "num-1",
  "num-2",
  "num-3",
  "num-4",
  "num-5",
  "num-6",
  "num-7",
  "num-8",
  "num-9",
  "num-10",
  "num-11",
  "num-12",
  "num-13",
  "num-14",
  "num-15",
  "num-16",
  "num-17",
  "num-18",
  "num-19",
  "num-20",
  "num-30",
  "num-40",
  "num-50",
  "num-60",
  "num-70",
  "num-80",
  "num-90",
  "hundred",
  "thousand",
] as const;
/** A prompt's name. */
export type PromptName = (typeof PROMPT_NAMES)[number];

/** Directory of the committed prompt files. */
export const DEFAULT_PROMPT_DIR = join(import.meta.dir, "..", "assets", "prompts");

/** Why a WAV file could not be used. */
export interface WavError {
  ok: false;
  error: string;
}

/**
 * Decodes a WAV file (PCM 8/16/24/32-bit, float, µ-law or A-law, any rate, any
 * channel count) into 16 kHz mono Int16 samples. 8 kHz input goes through the
 * mixer's half-band upsampler; other rates through wavefile's sinc resampler.
 * @example const r = decodeWav(readFileSync("hold.wav")); if (r.ok) use(r.samples);
 */
export function decodeWav(bytes: Uint8Array): { ok: true; samples: Int16Array } | WavError {
  let wav: WaveFile;
  try {
    wav = new WaveFile(bytes);
    if (wav.bitDepth === "8m") wav.fromMuLaw();
    else if (wav.bitDepth === "8a") wav.fromALaw();
    const fmt = wav.fmt as { sampleRate: number; numChannels: number };
    const rate = fmt.sampleRate;
    const channels = fmt.numChannels;
    if (rate !== 8000 && rate !== MIX_RATE) wav.toSampleRate(MIX_RATE, { method: "sinc", LPF: true });
    if (wav.bitDepth !== "16") wav.toBitDepth("16");
    const raw = wav.getSamples(true, Int16Array) as unknown as Int16Array;
    const frames = Math.floor(raw.length / channels);
    const mono = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      let acc = 0;
      for (let c = 0; c < channels; c++) acc += raw[i * channels + c] as number;
      mono[i] = Math.round(acc / channels);
    }
    if (rate !== 8000) return { ok: true, samples: mono };
    const up = new Int16Array(frames * 2);
    const upsampler = new Upsampler2x();
    for (let off = 0; off < frames; off += 1600) upsampler.process(mono, off, Math.min(1600, frames - off), up, off * 2);
    return { ok: true, samples: up };
  } catch (err) {
    return { ok: false, error: `not a usable WAV file: ${(err as Error).message}` };
  }
}

/**
 * Reads and decodes a WAV file (see `decodeWav`).
 * @example const r = loadWavFile("/srv/moh/custom.wav");
 */
export function loadWavFile(path: string): { ok: true; samples: Int16Array } | WavError {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    return { ok: false, error: `cannot read ${path}: ${(err as Error).message}` };
  }
  const r = decodeWav(bytes);
  return r.ok ? r : { ok: false, error: `${path}: ${r.error}` };
}

/**
 * The music-on-hold sources: the synthesised `default`, `legacy` and `beep`, plus
 * `custom` from `customWavPath` when that file exists and decodes. `warning` says why
 * a given custom file was not used.
 * @example const { sources, warning } = loadMohSources(env.MOH_CUSTOM_WAV);
 */
export function loadMohSources(customWavPath?: string): { sources: Map<string, LoopSource>; warning: string | null } {
  if (!customWavPath) return { sources: createMohSources(), warning: null };
  const r = loadWavFile(customWavPath);
  if (!r.ok) return { sources: createMohSources(), warning: r.error };
  return { sources: createMohSources(r.samples), warning: null };
}

/** The loaded prompt clips, 16 kHz mono Int16. */
export class PromptLibrary {
  private readonly clips: Map<string, Int16Array>;

  constructor(clips: Map<string, Int16Array>) {
    this.clips = clips;
  }

  /** The clip of a prompt (every `PromptName` is present in a library from `loadPrompts`). */
  get(name: PromptName): Int16Array {
    const clip = this.clips.get(name);
    if (!clip) throw new Error(`prompt "${name}" is not loaded`);
    return clip;
  }

  /** Whether a clip of that name (any file in the directory) is loaded. */
  has(name: string): boolean {
    return this.clips.has(name);
  }

  /** Total samples of all clips (for logging the memory used). */
  get totalSamples(): number {
    let n = 0;
    for (const c of this.clips.values()) n += c.length;
    return n;
  }
}

/**
 * Loads every `*.wav` in `dir` (default: the committed prompts); fails naming the
 * first missing or unreadable prompt.
 * @example const r = loadPrompts(); if (!r.ok) exit(r.error); const lib = r.library;
 */
export function loadPrompts(dir: string = DEFAULT_PROMPT_DIR): { ok: true; library: PromptLibrary } | WavError {
  const clips = new Map<string, Int16Array>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".wav"));
  } catch (err) {
    return { ok: false, error: `cannot read prompt directory ${dir}: ${(err as Error).message}` };
  }
  for (const f of files) {
    const r = loadWavFile(join(dir, f));
    if (!r.ok) return r;
    clips.set(f.slice(0, -4), r.samples);
  }
  for (const name of PROMPT_NAMES) if (!clips.has(name)) return { ok: false, error: `prompt "${name}" missing in ${dir}` };
  return { ok: true, library: new PromptLibrary(clips) };
}

const ONES = ["num-0", "num-1", "num-2", "num-3", "num-4", "num-5", "num-6", "num-7", "num-8", "num-9"] as const;

/**
 * The clips that say a whole number from 0 to 999,999 in English ("three hundred
 * forty two").
 * @example numberClips(1000) // ["num-1", "thousand"]
 */
export function numberClips(n: number): PromptName[] {
  const v = Math.max(0, Math.min(999_999, Math.floor(n)));
  if (v === 0) return ["num-0"];
  const out: PromptName[] = [];
  const below1000 = (x: number) => {
    if (x >= 100) {
      out.push(ONES[Math.floor(x / 100)] as PromptName, "hundred");
      x %= 100;
    }
    if (x === 0) return;
    if (x <= 20) out.push(`num-${x}` as PromptName);
    else {
      out.push(`num-${Math.floor(x / 10) * 10}` as PromptName);
      if (x % 10) out.push(ONES[x % 10] as PromptName);
    }
  };
  if (v >= 1000) {
    below1000(Math.floor(v / 1000));
    out.push("thousand");
  }
  below1000(v % 1000);
  return out;
}

/**
 * The clips that say a keypad sequence ("*6" -> "star six").
 * @example keyClips("92") // ["num-9", "num-2"]
 */
export function keyClips(keys: string): PromptName[] {
  const out: PromptName[] = [];
  for (const k of keys) {
    if (k === "*") out.push("star");
    else if (k === "#") out.push("pound");
    else if (k >= "0" && k <= "9") out.push(ONES[k.charCodeAt(0) - 48] as PromptName);
  }
  return out;
}

/** `PromptPlayer.next` result: nothing queued, nothing written. */
export const PROMPT_IDLE = 0;
/** `PromptPlayer.next` result: a frame was written and more follows. */
export const PROMPT_PLAYING = 1;
/** `PromptPlayer.next` result: a frame was written and the queue is now empty. */
export const PROMPT_FINISHED = 2;

/**
 * Plays a queue of clips (16 kHz Int16) as consecutive 20 ms frames, seamlessly
 * across clip boundaries; the last frame is padded with silence. The queue is a ring
 * of up to `capacity` clips (default 64), so playing allocates nothing; queueing
 * stores references, and grows the ring (by doubling, from 8) the first time a
 * longer queue is asked for: every mixer slot has a player, and most only ever
 * queue a few clips.
 * @example
 * const p = new PromptPlayer();
 * p.enqueue(lib.get("welcome")); p.enqueueSilence(300); p.enqueue(lib.get("enter-code"));
 * while (p.next(frame, 0) !== PROMPT_IDLE) send(frame);
 */
export class PromptPlayer {
  /** Most clips (and pauses) queued at once. */
  readonly capacity: number;
  private ring: (Int16Array | null)[];
  private lengths: Int32Array;
  private head = 0;
  private count = 0;
  private pos = 0;
  /** Items queued ever, and items begun (or cleared) ever: numbers an item's place in line. */
  private pushed = 0;
  private begun = 0;

  constructor(capacity = 64) {
    this.capacity = capacity;
    const initial = Math.min(capacity, 8);
    this.ring = new Array<Int16Array | null>(initial).fill(null);
    this.lengths = new Int32Array(initial);
  }

  /** True while something is queued. */
  get playing(): boolean {
    return this.count > 0;
  }

  /** How many items (clips and pauses) were ever queued: the last one queued has this number. */
  get queuedTotal(): number {
    return this.pushed;
  }

  /**
   * Whether item number `n` (a `queuedTotal` read right after queueing it) is still
   * waiting: queued, not begun, not cleared. Lets a caller keep one of a kind in line.
   */
  waiting(n: number): boolean {
    return n > this.begun && n <= this.pushed;
  }

  /** Queues a clip; false when the queue is full. */
  enqueue(clip: Int16Array): boolean {
    return this.push(clip, clip.length);
  }

  /** Queues a pause. */
  enqueueSilence(ms: number): boolean {
    return this.push(null, Math.round((ms * MIX_RATE) / 1000));
  }

  /** Queues several clips; false (and nothing queued) when they do not all fit. */
  enqueueAll(clips: readonly Int16Array[]): boolean {
    if (this.count + clips.length > this.capacity) return false;
    for (const c of clips) this.push(c, c.length);
    return true;
  }

  private push(clip: Int16Array | null, length: number): boolean {
    if (this.count === this.capacity) return false;
    if (length <= 0) return true;
    if (this.count === this.ring.length) this.grow();
    const idx = (this.head + this.count) % this.ring.length;
    this.ring[idx] = clip;
    this.lengths[idx] = length;
    this.count++;
    this.pushed++;
    return true;
  }

  /** Doubles the ring (up to `capacity`), the queue unrolled to start at 0. */
  private grow(): void {
    const size = Math.min(this.capacity, this.ring.length * 2);
    const ring = new Array<Int16Array | null>(size).fill(null);
    const lengths = new Int32Array(size);
    for (let i = 0; i < this.count; i++) {
      const j = (this.head + i) % this.ring.length;
      ring[i] = this.ring[j] ?? null;
      lengths[i] = this.lengths[j] as number;
    }
    this.ring = ring;
    this.lengths = lengths;
    this.head = 0;
  }

  /** Stops and empties the queue. */
  clear(): void {
    for (let i = 0; i < this.ring.length; i++) this.ring[i] = null;
    this.count = 0;
    this.head = 0;
    this.pos = 0;
    this.begun = this.pushed;
  }

  /** Writes the next `MIX_FRAME` samples to `dst[off..]`; see `PROMPT_*` for the result. */
  next(dst: Int16Array, off: number): number {
    if (this.count === 0) return PROMPT_IDLE;
    let written = 0;
    while (written < MIX_FRAME && this.count > 0) {
      const clip = this.ring[this.head] ?? null;
      const len = this.lengths[this.head] as number;
      if (this.pos === 0) this.begun++;
      let take = len - this.pos;
      if (take > MIX_FRAME - written) take = MIX_FRAME - written;
      if (clip) for (let i = 0; i < take; i++) dst[off + written + i] = clip[this.pos + i] as number;
      else for (let i = 0; i < take; i++) dst[off + written + i] = 0;
      written += take;
      this.pos += take;
      if (this.pos >= len) {
        this.ring[this.head] = null;
        this.head = (this.head + 1) % this.ring.length;
        this.count--;
        this.pos = 0;
      }
    }
    for (let i = written; i < MIX_FRAME; i++) dst[off + i] = 0;
    return this.count > 0 ? PROMPT_PLAYING : PROMPT_FINISHED;
  }
}
