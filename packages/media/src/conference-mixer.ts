/**
 * The conference mixer: one instance per meeting, one `tick()` per 20 ms.
 *
 * HAND-WRITTEN HOT LOOP. This file is the per-frame path of a meeting of up to
 * thousands of attendees on one core, so it is written by hand for that and nothing
 * else: state lives in struct-of-arrays typed arrays indexed by slot, codecs are
 * lookup tables, and a tick allocates nothing (no closures, objects or subarrays).
 *
 * Shape of a tick (16 kHz internal mix, 320 samples):
 *  1. Inputs. Each slot's frame source (its jitter buffer) yields this tick's payload.
 *     Only slots allowed to be heard (hosts and unmuted participants that are members,
 *     not held, not waiting) are measured: G.711 energy comes straight from the bytes
 *     through a squared-value table, so silent callers are never decoded. Frames with
 *     voice energy (or within the hangover after it) compete for at most `maxTalkers`
 *     places, loudest first, current talkers favoured (no flapping).
 *     Opus callers who can be heard are decoded every frame (no cheap energy measure).
 *  2. Mix. Chosen talkers are decoded, upsampled to 16 kHz, gained, and summed in an
 *     Int32 accumulator, plus the meeting overlay (entry/exit tones, announcements);
 *     the sum is soft-clipped to int16 and offered to `recordTap`.
 *  3. Outputs. Every slot gets a payload in the output `arena`: its own prompt if one
 *     is playing; music on hold when held, waiting, or alone; silence when not (yet) a
 *     member; its own N-1 mix (mix minus itself) when it is a talker; otherwise the
 *     SHARED mix, downsampled once and encoded once per codec, the same bytes
 *     referenced by every such slot. Music-on-hold sources are shared the same way.
 *     `outOffset[slot]`/`outLength[slot]` say where; the I/O layer adds the 12-byte RTP
 *     header per receiver and batches the sends.
 *
 * Events the call layer must see (in-band DTMF digits, a prompt that finished) are
 * queued in preallocated arrays and read after the tick (`eventCount` etc.).
 */
import { CODEC_COUNT, CODEC_G722, CODEC_OPUS, CODEC_PCMA, CODEC_PCMU, type CodecName, codecId } from "./codec.ts";
import { InbandDtmfDetector } from "./dtmf.ts";
import { ALAW_DECODE, ALAW_ENCODE, ALAW_SILENCE, ULAW_DECODE, ULAW_ENCODE, ULAW_SILENCE } from "./g711.ts";
import { G722Decoder, G722Encoder } from "./g722.ts";
import { JB_LOST, concealFrame } from "./jitter-buffer.ts";
import { opusAvailable } from "./opus.ts";
import { OpusMixState } from "./opus-mix.ts";
import { PROMPT_FINISHED, PromptPlayer } from "./prompts.ts";
import { DOWN_HISTORY, UP_HISTORY, downsample2x, upsample2x } from "./resample.ts";
import {
  type ConferenceMixerOptions,
  type FrameSource,
  MIXER_EVENT_DIGIT,
  MIXER_EVENT_OVERLAY_DONE,
  MIXER_EVENT_PROMPT_DONE,
  ROLE_LISTENER,
  ROLES,
  type Role,
  type SlotOptions,
} from "./mixer-types.ts";
import { type LoopSource, MIX_FRAME, createMohSources } from "./tones.ts";

const MAX_PAYLOAD = 320;
/** G.722 low-band step size above which a frame may hold voice (silence idles at ~56). */
const G722_AUDIBLE_STEP = 80;
const F16 = MIX_FRAME; // 320 samples at 16 kHz
const F8 = 160; // 160 samples at 8 kHz
const STREAM_MIX = 0;
/** 1 for the codecs coded at 16 kHz (G.722, Opus), by codec id. */
const WIDE = Uint8Array.from([0, 0, 1, 1]);

/** Squared decoded value of every G.711 byte: frame energy without decoding. */
const ULAW_SQ = new Float64Array(256);
const ALAW_SQ = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  ULAW_SQ[i] = (ULAW_DECODE[i] as number) ** 2;
  ALAW_SQ[i] = (ALAW_DECODE[i] as number) ** 2;
}

function grown<T extends Int32Array | Int16Array | Uint8Array | Float64Array | Float32Array>(a: T, n: number, fill = 0): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}

/** Mean square of `n` decoded samples at `pcm[base..]`: a frame's voice energy. */
function meanSquare(pcm: Int16Array, base: number, n: number): number {
  let acc = 0;
  for (let i = base; i < base + n; i++) {
    const v = pcm[i] as number;
    acc += v * v;
  }
  return acc / n;
}

/** 16-bit little-endian samples (`n` bytes, at most one frame) into `pcm[base..]`, the rest of the frame zero. */
function readLinear(data: Uint8Array, fo: number, n: number, pcm: Int16Array, base: number): void {
  const samples = n >> 1 < F16 ? n >> 1 : F16;
  for (let i = 0; i < samples; i++) {
    const j = fo + 2 * i;
    pcm[base + i] = (((data[j] as number) | ((data[j + 1] as number) << 8)) << 16) >> 16;
  }
  for (let i = samples; i < F16; i++) pcm[base + i] = 0;
}

/** Soft clip: unity below 16384, then compressed smoothly towards full scale. */
function softClip(v: number): number {
  if (v > 16384) return (16384 + (v - 16384) / (1 + (v - 16384) / 16383)) | 0;
  if (v < -16384) return (-16384 - (-16384 - v) / (1 + (-16384 - v) / 16384)) | 0;
  return v;
}

/**
 * One meeting's mixer. Slots are small integers handed out by `addSlot`.
 * @example
 * const mixer = new ConferenceMixer();
 * const a = mixer.addSlot({ codec: "PCMU", role: "host", input: jitterBufferA });
 * setInterval(() => {
 *   mixer.tick();
 *   for (let i = 0; i < mixer.activeCount; i++) {
 *     const s = mixer.activeList[i];
 *     if (mixer.outLength[s] > 0) send(s, mixer.arena, mixer.outOffset[s], mixer.outLength[s]);
 *   }
 * }, 20);
 */
export class ConferenceMixer {
  /** Output payloads; re-read after each tick (it is replaced when capacity grows). */
  arena: Uint8Array;
  /** Per slot: where this tick's payload starts in `arena`. */
  outOffset = new Int32Array(0);
  /** Per slot: this tick's payload length; 0 = send nothing (advance the RTP clock). */
  outLength = new Int32Array(0);
  /** Slots in use, densely packed: `activeList[0 .. activeCount)`. */
  activeList = new Int32Array(0);
  /** Number of slots in use. */
  activeCount = 0;
  /** Slots mixed this tick: `talkers[0 .. talkerCount)`. */
  readonly talkers: Int32Array;
  /** Number of talkers mixed this tick. */
  talkerCount = 0;
  /** Events of the last tick: `eventSlot[i]`, `eventKind[i]`, `eventValue[i]` for i < eventCount. */
  eventCount = 0;
  eventSlot = new Int32Array(0);
  eventKind = new Uint8Array(0);
  eventValue = new Int32Array(0);
  /** Called once per tick with the 16 kHz meeting mix (talkers + overlay), e.g. to record it. */
  recordTap: ((mix: Int16Array) => void) | null = null;
  /** Tones and announcements heard by the whole meeting, mixed into the shared output. */
  readonly overlay = new PromptPlayer();
  /** Whether a caller alone, or waiting for the start, hears music. */
  mohEnabled: boolean;
  /** Ticks so far. */
  tickCount = 0;

  readonly maxTalkers: number;
  readonly maxCapacity: number;
  private readonly thresholdSq: number;
  private readonly hangover: number;
  private readonly mohList: LoopSource[];
  private readonly mohIndexByName = new Map<string, number>();
  private readonly defaultMohIndex: number;
  private readonly streamCount: number;
  private readonly silenceStream: number;
  private readonly slotBase: number;
  private capacity = 0;
  private memberCount = 0;

  // Per-slot state (struct of arrays).
  private used = new Uint8Array(0);
  private codec = new Uint8Array(0);
  private role = new Uint8Array(0);
  private muted = new Uint8Array(0);
  private held = new Uint8Array(0);
  private member = new Uint8Array(0);
  private waiting = new Uint8Array(0);
  private send = new Uint8Array(0);
  /** 1: the input is 16 kHz 16-bit linear PCM (a cascade trunk lane), not the codec's. */
  private linear = new Uint8Array(0);
  private talkable = new Uint8Array(0);
  private hang = new Uint8Array(0);
  private mohIdx = new Uint8Array(0);
  private gain = new Float64Array(0);
  private activePos = new Int32Array(0);
  private decodedTick = new Int32Array(0);
  private talkerTick = new Int32Array(0);
  private talkerIdx = new Int32Array(0);
  private ownTick = new Int32Array(0);
  private pcmIn = new Int16Array(0);
  private upHist = new Int16Array(0);
  private downHist = new Int16Array(0);
  private freeList = new Int32Array(0);
  private freeCount = 0;
  private inputs: (FrameSource | null)[] = [];
  private prompts: PromptPlayer[] = [];
  private detectors: (InbandDtmfDetector | null)[] = [];
  private g722Dec: (G722Decoder | null)[] = [];
  private g722Enc: (G722Encoder | null)[] = [];
  /** Opus decoders and encoders, made with the first Opus caller. */
  private opus: OpusMixState | null = null;

  // Per-tick scratch and shared streams.
  private readonly mix32 = new Int32Array(F16);
  private readonly mix16 = new Int16Array(F16);
  private readonly tmp16 = new Int16Array(F16);
  private readonly tmp8 = new Int16Array(F8);
  private readonly candSlot: Int32Array;
  private readonly candScore: Float64Array;
  /**
   * Per talker `k` of the last tick (`talkers[k]`), its 16 kHz frame after gain at
   * `k * 320`: what a cascade trunk sends of a local talker (see trunk.ts).
   */
  readonly talkerPcm: Int32Array;
  private readonly mohFrames: Int16Array;
  private readonly mohTick: Int32Array;
  /** This mixer's place in each music loop (the sources are shared between meetings). */
  private readonly mohPos: Int32Array;
  private readonly streamDown8: Int16Array;
  private readonly streamDownTick: Int32Array;
  private readonly streamDownHist: Int16Array;
  private readonly mixHistSnapshot = new Int16Array(DOWN_HISTORY);
  private readonly streamEncTick: Int32Array;
  /** Payload length per stream and codec: Opus packets vary (the others are 160 bytes). */
  private readonly streamEncLen: Int32Array;
  private readonly streamG722: (G722Encoder | null)[];
  private readonly mixG722Snapshot = new G722Encoder();
  private mixG722Used = false;

  constructor(options: ConferenceMixerOptions = {}) {
    this.maxTalkers = options.maxTalkers ?? 8;
    this.maxCapacity = options.maxCapacity ?? 4096;
    const rms = options.talkThresholdRms ?? 300;
    this.thresholdSq = rms * rms;
    this.hangover = Math.min(255, options.hangoverTicks ?? 10);
    this.mohEnabled = options.mohEnabled ?? true;
    const moh = options.mohSources ?? createMohSources();
    this.mohList = [...moh.values()];
    if (this.mohList.length === 0 || this.mohList.length > 250) throw new RangeError("need 1..250 music-on-hold sources");
    for (const [name] of moh) this.mohIndexByName.set(name, this.mohIndexByName.size);
    this.defaultMohIndex = this.mohIndexByName.get(options.defaultMoh ?? "default") ?? 0;

    // Streams: 0 = the meeting mix, 1..M = music sources, M+1 = silence.
    this.streamCount = this.mohList.length + 2;
    this.silenceStream = this.streamCount - 1;
    this.slotBase = this.streamCount * CODEC_COUNT * MAX_PAYLOAD;
    this.streamEncTick = new Int32Array(this.streamCount * CODEC_COUNT).fill(-1);
    this.streamEncLen = new Int32Array(this.streamCount * CODEC_COUNT);
    this.streamDown8 = new Int16Array(this.streamCount * F8);
    this.streamDownTick = new Int32Array(this.streamCount).fill(-1);
    this.streamDownHist = new Int16Array(this.streamCount * DOWN_HISTORY);
    this.streamG722 = new Array<G722Encoder | null>(this.streamCount).fill(null);
    this.mohFrames = new Int16Array(this.mohList.length * F16);
    this.mohTick = new Int32Array(this.mohList.length).fill(-1);
    this.mohPos = new Int32Array(this.mohList.length);
    this.candSlot = new Int32Array(this.maxTalkers);
    this.candScore = new Float64Array(this.maxTalkers);
    this.talkerPcm = new Int32Array(this.maxTalkers * F16);
    this.talkers = new Int32Array(this.maxTalkers);

    const cap = Math.max(1, Math.min(options.initialCapacity ?? 16, this.maxCapacity));
    this.arena = new Uint8Array(this.slotBase);
    this.grow(cap);

    // The silence stream is encoded once: constant bytes per codec.
    const silenceBase = this.silenceStream * CODEC_COUNT * MAX_PAYLOAD;
    this.arena.fill(ULAW_SILENCE, silenceBase + CODEC_PCMU * MAX_PAYLOAD, silenceBase + CODEC_PCMU * MAX_PAYLOAD + F8);
    this.arena.fill(ALAW_SILENCE, silenceBase + CODEC_PCMA * MAX_PAYLOAD, silenceBase + CODEC_PCMA * MAX_PAYLOAD + F8);
    const enc = new G722Encoder();
    const zeros = new Int16Array(F16);
    for (let i = 0; i < 10; i++) enc.encode(zeros, 0, F16, this.arena, silenceBase + CODEC_G722 * MAX_PAYLOAD);
  }

  /** Slots that fit before the next growth. */
  get slotCapacity(): number {
    return this.capacity;
  }

  /** Callers admitted to the meeting (members), held or not. */
  get members(): number {
    return this.memberCount;
  }

  /** Names of the music-on-hold sources, in order. */
  get mohNames(): string[] {
    return this.mohList.map((s) => s.name);
  }

  private grow(n: number): void {
    const old = this.capacity;
    this.capacity = n;
    const arena = new Uint8Array(this.slotBase + n * MAX_PAYLOAD);
    arena.set(this.arena.subarray(0, Math.min(this.arena.length, arena.length)));
    this.arena = arena;
    this.outOffset = grown(this.outOffset, n);
    this.outLength = grown(this.outLength, n);
    this.activeList = grown(this.activeList, n);
    this.eventSlot = grown(this.eventSlot, n * 2 + 8);
    this.eventKind = grown(this.eventKind, n * 2 + 8);
    this.eventValue = grown(this.eventValue, n * 2 + 8);
    this.used = grown(this.used, n);
    this.codec = grown(this.codec, n);
    this.role = grown(this.role, n);
    this.muted = grown(this.muted, n);
    this.held = grown(this.held, n);
    this.member = grown(this.member, n);
    this.waiting = grown(this.waiting, n);
    this.send = grown(this.send, n);
    this.linear = grown(this.linear, n);
    this.talkable = grown(this.talkable, n);
    this.hang = grown(this.hang, n);
    this.mohIdx = grown(this.mohIdx, n);
    this.gain = grown(this.gain, n);
    this.activePos = grown(this.activePos, n, -1);
    this.decodedTick = grown(this.decodedTick, n, -10);
    this.talkerTick = grown(this.talkerTick, n, -10);
    this.talkerIdx = grown(this.talkerIdx, n);
    this.ownTick = grown(this.ownTick, n, -10);
    this.pcmIn = grown(this.pcmIn, n * F16);
    this.upHist = grown(this.upHist, n * UP_HISTORY);
    this.downHist = grown(this.downHist, n * DOWN_HISTORY);
    const free = new Int32Array(n);
    free.set(this.freeList.subarray(0, this.freeCount));
    // New slots are handed out lowest first.
    for (let s = n - 1; s >= old; s--) free[this.freeCount++] = s;
    this.freeList = free;
    for (let s = old; s < n; s++) {
      this.inputs.push(null);
      this.prompts.push(new PromptPlayer());
      this.detectors.push(null);
      this.g722Dec.push(null);
      this.g722Enc.push(null);
    }
  }

  /**
   * Adds a caller; returns its slot, or -1 when `maxCapacity` is reached or the
   * codec is unknown.
   */
  addSlot(options: SlotOptions): number {
    // A linear input is mixed as a 16 kHz one: G.722's place in the wide-band paths.
    const c = options.linear ? CODEC_G722 : typeof options.codec === "number" ? options.codec : codecId(options.codec);
    if (c < 0 || c >= CODEC_COUNT || (c === CODEC_OPUS && !opusAvailable())) return -1;
    if (this.freeCount === 0) {
      if (this.capacity >= this.maxCapacity) return -1;
      this.grow(Math.min(this.maxCapacity, this.capacity * 2));
    }
    const s = this.freeList[--this.freeCount] as number;
    this.used[s] = 1;
    this.activePos[s] = this.activeCount;
    this.activeList[this.activeCount++] = s;
    this.codec[s] = c;
    this.role[s] = ROLES.indexOf(options.role ?? "participant");
    this.muted[s] = options.muted ? 1 : 0;
    this.held[s] = options.held ? 1 : 0;
    const member = options.member ?? true;
    this.member[s] = member ? 1 : 0;
    if (member) this.memberCount++;
    this.waiting[s] = options.waiting ? 1 : 0;
    this.send[s] = options.send === false ? 0 : 1;
    this.linear[s] = options.linear ? 1 : 0;
    this.gain[s] = options.gain ?? 1;
    this.mohIdx[s] = this.defaultMohIndex;
    if (options.moh !== undefined) this.setMoh(s, options.moh);
    this.hang[s] = 0;
    this.decodedTick[s] = -10;
    this.talkerTick[s] = -10;
    this.ownTick[s] = -10;
    this.outLength[s] = 0;
    this.pcmIn.fill(0, s * F16, (s + 1) * F16);
    this.upHist.fill(0, s * UP_HISTORY, (s + 1) * UP_HISTORY);
    this.downHist.fill(0, s * DOWN_HISTORY, (s + 1) * DOWN_HISTORY);
    this.inputs[s] = options.input ?? null;
    this.detectors[s] = options.inbandDtmf ? new InbandDtmfDetector() : null;
    this.setupCodecState(s);
    this.refresh(s);
    return s;
  }

  /** Removes a caller; its slot may be reused. Idempotent. */
  removeSlot(slot: number): void {
    if (!this.isUsed(slot)) return;
    this.used[slot] = 0;
    if (this.member[slot]) this.memberCount--;
    this.member[slot] = 0;
    this.talkable[slot] = 0;
    const pos = this.activePos[slot] as number;
    const last = this.activeList[--this.activeCount] as number;
    this.activeList[pos] = last;
    this.activePos[last] = pos;
    this.activePos[slot] = -1;
    this.outLength[slot] = 0;
    this.inputs[slot] = null;
    this.detectors[slot] = null;
    this.prompts[slot]?.clear();
    // Opus states are native memory: freed at hang-up, made again for the next caller.
    this.opus?.release(slot);
    this.freeList[this.freeCount++] = slot;
  }

  /**
   * The meeting is over: removes every slot and frees the native (Opus) states of the
   * slots and streams. Idempotent; a slot added after starts afresh.
   */
  close(): void {
    while (this.activeCount > 0) this.removeSlot(this.activeList[this.activeCount - 1] as number);
    this.opus?.close();
    this.opus = null;
  }

  private isUsed(slot: number): boolean {
    return slot >= 0 && slot < this.capacity && this.used[slot] === 1;
  }

  private setupCodecState(s: number): void {
    if (this.codec[s] === CODEC_OPUS) {
      this.opus ??= new OpusMixState(this.streamCount);
      this.opus.setup(s);
    } else {
      this.opus?.release(s);
    }
    if (this.codec[s] === CODEC_G722) {
      const dec = this.g722Dec[s] ?? new G722Decoder();
      const enc = this.g722Enc[s] ?? new G722Encoder();
      dec.reset();
      enc.reset();
      this.g722Dec[s] = dec;
      this.g722Enc[s] = enc;
    }
  }

  /** Sets one of the per-slot flags that decide whether the caller is heard. */
  private setFlag(flags: Uint8Array, slot: number, on: boolean): void {
    if (!this.isUsed(slot)) return;
    flags[slot] = on ? 1 : 0;
    this.refresh(slot);
  }

  private refresh(s: number): void {
    this.talkable[s] =
      this.used[s] === 1 &&
      this.member[s] === 1 &&
      this.held[s] === 0 &&
      this.waiting[s] === 0 &&
      this.muted[s] === 0 &&
      this.role[s] !== ROLE_LISTENER
        ? 1
        : 0;
  }

  /** Whether the slot's caller may be heard now (host or unmuted participant, admitted, not held or waiting). */
  canBeHeard(slot: number): boolean {
    return this.isUsed(slot) && this.talkable[slot] === 1;
  }

  /** Whether the slot's input is linear PCM (a cascade trunk lane), not a caller's codec. */
  isLinear(slot: number): boolean {
    return this.isUsed(slot) && this.linear[slot] === 1;
  }

  /** Whether the slot was mixed as a talker in the last tick. */
  isTalking(slot: number): boolean {
    return this.isUsed(slot) && this.talkerTick[slot] === this.tickCount;
  }

  /** The slot's personal prompt queue (played to this caller only, instead of the meeting). */
  prompt(slot: number): PromptPlayer {
    const p = this.prompts[slot];
    if (!p || !this.isUsed(slot)) throw new RangeError(`slot ${slot} is not in use`);
    return p;
  }

  /** Changes where the caller's audio comes from. */
  setInput(slot: number, input: FrameSource | null): void {
    if (this.isUsed(slot)) this.inputs[slot] = input;
  }

  /** Changes the caller's codec (after a re-INVITE). */
  setCodec(slot: number, codec: number | CodecName): boolean {
    const c = typeof codec === "number" ? codec : codecId(codec);
    if (!this.isUsed(slot) || c < 0 || c >= CODEC_COUNT || (c === CODEC_OPUS && !opusAvailable())) return false;
    this.codec[slot] = c;
    this.decodedTick[slot] = -10;
    this.setupCodecState(slot);
    return true;
  }

  /** Changes the caller's role. */
  setRole(slot: number, role: Role): void {
    if (!this.isUsed(slot)) return;
    this.role[slot] = ROLES.indexOf(role);
    this.refresh(slot);
  }

  /** Mutes or unmutes the caller. */
  setMuted(slot: number, on: boolean): void {
    this.setFlag(this.muted, slot, on);
  }

  /** Puts the caller on (meeting) hold: hears music, is not heard. */
  setHeld(slot: number, on: boolean): void {
    this.setFlag(this.held, slot, on);
  }

  /** Admits the caller to the meeting (true) or keeps them out of it, e.g. in the IVR (false). */
  setMember(slot: number, on: boolean): void {
    if (!this.isUsed(slot)) return;
    const v = on ? 1 : 0;
    if (this.member[slot] !== v) this.memberCount += on ? 1 : -1;
    this.member[slot] = v;
    this.refresh(slot);
  }

  /** The caller waits for the meeting to start, hearing music. */
  setWaiting(slot: number, on: boolean): void {
    this.setFlag(this.waiting, slot, on);
  }

  /** Whether we produce audio for the caller (false when the SDP direction says we must not send). */
  setSend(slot: number, on: boolean): void {
    if (this.isUsed(slot)) this.send[slot] = on ? 1 : 0;
  }

  /** Linear input gain of the caller (1 = unchanged, 2 = +6 dB). */
  setGain(slot: number, gain: number): void {
    if (this.isUsed(slot) && gain >= 0 && Number.isFinite(gain)) this.gain[slot] = gain;
  }

  /** Selects the caller's music-on-hold source; false for an unknown name. */
  setMoh(slot: number, name: string): boolean {
    const idx = this.mohIndexByName.get(name);
    if (idx === undefined || !this.isUsed(slot)) return false;
    this.mohIdx[slot] = idx;
    return true;
  }

  /** The caller's music-on-hold source name. */
  mohOf(slot: number): string {
    return this.mohList[this.mohIdx[slot] ?? 0]?.name ?? "";
  }

  /** Turns the in-band DTMF detector on or off for the caller. */
  setInbandDtmf(slot: number, on: boolean): void {
    if (!this.isUsed(slot)) return;
    this.detectors[slot] = on ? (this.detectors[slot] ?? new InbandDtmfDetector()) : null;
  }

  /** Plays a clip (tone or announcement) to the whole meeting. */
  playToMeeting(clip: Int16Array): boolean {
    return this.overlay.enqueue(clip);
  }

  private pushEvent(slot: number, kind: number, value: number): void {
    const i = this.eventCount;
    if (i >= this.eventSlot.length) return;
    this.eventSlot[i] = slot;
    this.eventKind[i] = kind;
    this.eventValue[i] = value;
    this.eventCount = i + 1;
  }

  /** Advances the meeting by 20 ms: reads inputs, mixes, and fills every slot's output. */
  tick(): void {
    const tick = ++this.tickCount;
    this.eventCount = 0;
    const list = this.activeList;
    const count = this.activeCount;
    const pcmIn = this.pcmIn;
    const codec = this.codec;
    const talkable = this.talkable;
    const hang = this.hang;
    const gain = this.gain;
    const decodedTick = this.decodedTick;
    const talkerTick = this.talkerTick;
    const candSlot = this.candSlot;
    const candScore = this.candScore;
    const maxT = this.maxTalkers;
    const thr = this.thresholdSq;
    let nCand = 0;

    // 1. Inputs, voice energy, talker selection.
    for (let a = 0; a < count; a++) {
      const s = list[a] as number;
      const src = this.inputs[s] ?? null;
      if (src === null) continue;
      const n = src.readFrame();
      const data = src.frameData;
      const fo = src.frameOffset;
      const c = codec[s] as number;
      const talk = talkable[s] === 1;
      const base = s * F16;
      let e = -1;
      if (n > 0) {
        if (this.linear[s] === 1) {
          if (talk) {
            readLinear(data, fo, n, pcmIn, base);
            decodedTick[s] = tick;
            e = meanSquare(pcmIn, base, F16);
          }
        } else if (c === CODEC_OPUS) {
          if (talk) {
            (this.opus as OpusMixState).decode(s, data, fo, n, pcmIn, base);
            decodedTick[s] = tick;
            e = meanSquare(pcmIn, base, F16);
          }
        } else if (c === CODEC_G722) {
          // Decoding G.722 costs ~18 us a frame, so callers who cannot be heard are not
          // decoded at all, and audible ones only while their ADPCM step size says they
          // are not silent (`trackLevel` costs a lookup per byte). A decoder that skipped
          // frames restarts its predictor (the onset of speech is blurred for ~100 ms).
          if (talk) {
            const dec = this.g722Dec[s] as G722Decoder;
            const len = n < F8 ? n : F8;
            if ((decodedTick[s] === tick - 1 && hang[s] !== 0) || dec.trackLevel(data, fo, len) >= G722_AUDIBLE_STEP) {
              dec.decode(data, fo, len, pcmIn, base);
              decodedTick[s] = tick;
              e = meanSquare(pcmIn, base, F16);
            }
          }
        } else {
          const len = n < F8 ? n : F8;
          const det = this.detectors[s] ?? null;
          if (det !== null) {
            this.decodeG711(c, data, fo, len, base);
            decodedTick[s] = tick;
            const ev = det.process(pcmIn, base, F8);
            if (ev >= 0) this.pushEvent(s, MIXER_EVENT_DIGIT, ev);
          }
          if (talk) {
            const sq = c === CODEC_PCMU ? ULAW_SQ : ALAW_SQ;
            let acc = 0;
            for (let i = 0; i < len; i++) acc += sq[data[fo + i] as number] as number;
            e = acc / F8;
          }
        }
      } else if (n === JB_LOST && talk && decodedTick[s] === tick - 1) {
        // Conceal only a stream we were decoding (a talker): Opus by its decoder's PLC,
        // the others by repeating the last frame, fading.
        const ns = WIDE[c] === 1 ? F16 : F8;
        if (c === CODEC_OPUS) (this.opus as OpusMixState).conceal(s, pcmIn, base);
        else concealFrame(pcmIn, base, ns, src.lossRun);
        decodedTick[s] = tick;
        e = meanSquare(pcmIn, base, ns);
      }
      if (!talk) continue;
      const h = hang[s] as number;
      if (e < 0) {
        if (h > 0) hang[s] = h - 1;
        continue;
      }
      const g = gain[s] as number;
      e *= g * g;
      if (e >= thr) hang[s] = this.hangover;
      else if (h > 0) hang[s] = h - 1;
      else continue;
      // Current talkers keep their place against slightly louder newcomers.
      const score = talkerTick[s] === tick - 1 ? e * 4 + 1 : e;
      let idx: number;
      if (nCand < maxT) {
        idx = nCand++;
      } else {
        idx = 0;
        for (let k = 1; k < maxT; k++) if ((candScore[k] as number) < (candScore[idx] as number)) idx = k;
        if (score <= (candScore[idx] as number)) continue;
      }
      candSlot[idx] = s;
      candScore[idx] = score;
      if (decodedTick[s] !== tick) {
        this.decodeG711(c, data, fo, n < F8 ? n : F8, base);
        decodedTick[s] = tick;
      }
    }

    // 2. The mix.
    const mix32 = this.mix32;
    const mix16 = this.mix16;
    const talkerPcm = this.talkerPcm;
    const tmp16 = this.tmp16;
    mix32.fill(0);
    for (let k = 0; k < nCand; k++) {
      const s = candSlot[k] as number;
      const base = s * F16;
      const tb = k * F16;
      if (WIDE[codec[s] as number] === 1) {
        for (let i = 0; i < F16; i++) tmp16[i] = pcmIn[base + i] as number;
      } else {
        // A new talker's filter starts from silence rather than from a stale past.
        if (talkerTick[s] !== tick - 1) this.upHist.fill(0, s * UP_HISTORY, (s + 1) * UP_HISTORY);
        upsample2x(pcmIn, base, F8, tmp16, 0, this.upHist, s * UP_HISTORY);
      }
      const g = gain[s] as number;
      if (g === 1) {
        for (let i = 0; i < F16; i++) {
          const v = tmp16[i] as number;
          talkerPcm[tb + i] = v;
          mix32[i] = (mix32[i] as number) + v;
        }
      } else {
        for (let i = 0; i < F16; i++) {
          let v = Math.round((tmp16[i] as number) * g);
          if (v > 32767) v = 32767;
          else if (v < -32768) v = -32768;
          talkerPcm[tb + i] = v;
          mix32[i] = (mix32[i] as number) + v;
        }
      }
      talkerTick[s] = tick;
      this.talkerIdx[s] = k;
      this.talkers[k] = s;
    }
    this.talkerCount = nCand;
    if (this.overlay.playing) {
      const r = this.overlay.next(tmp16, 0);
      for (let i = 0; i < F16; i++) mix32[i] = (mix32[i] as number) + (tmp16[i] as number);
      if (r === PROMPT_FINISHED) this.pushEvent(-1, MIXER_EVENT_OVERLAY_DONE, 0);
    }
    for (let i = 0; i < F16; i++) mix16[i] = softClip(mix32[i] as number);
    if (this.recordTap !== null) this.recordTap(mix16);

    // Keep the shared mix's 8 kHz stream (and G.722 encoder) continuous every tick, and
    // remember their state before this frame, for callers switching to an own stream.
    const snap = this.mixHistSnapshot;
    const hist = this.streamDownHist;
    for (let i = 0; i < DOWN_HISTORY; i++) snap[i] = hist[i] as number;
    this.streamDownSample(STREAM_MIX, tick);
    const mixEnc = this.streamG722[STREAM_MIX] ?? null;
    if (mixEnc !== null) {
      this.mixG722Snapshot.copyFrom(mixEnc);
      this.mixG722Used = true;
    }
    this.opus?.snapshotMix(STREAM_MIX, this.streamEncTick[STREAM_MIX * CODEC_COUNT + CODEC_OPUS] === tick - 1);

    // 3. Outputs.
    const aloneMoh = this.mohEnabled && this.memberCount === 1;
    const outOffset = this.outOffset;
    const outLength = this.outLength;
    for (let a = 0; a < count; a++) {
      const s = list[a] as number;
      if (this.send[s] === 0) {
        outLength[s] = 0;
        continue;
      }
      const c = codec[s] as number;
      const p = this.prompts[s] as PromptPlayer;
      if (p.playing) {
        const r = p.next(tmp16, 0);
        this.encodeOwn(s, c, tmp16, tick);
        if (r === PROMPT_FINISHED) this.pushEvent(s, MIXER_EVENT_PROMPT_DONE, 0);
        continue;
      }
      if (this.held[s] === 1 || (this.waiting[s] === 1 && this.mohEnabled) || (aloneMoh && this.member[s] === 1)) {
        this.encodeShared(s, 1 + (this.mohIdx[s] as number), c, tick);
        continue;
      }
      // Waiting for the start without music (conference_moh_enabled off): silence, not the meeting.
      if (this.member[s] === 0 || this.waiting[s] === 1) {
        this.encodeShared(s, this.silenceStream, c, tick);
        continue;
      }
      if (talkerTick[s] === tick) {
        const tb = (this.talkerIdx[s] as number) * F16;
        for (let i = 0; i < F16; i++) tmp16[i] = softClip((mix32[i] as number) - (talkerPcm[tb + i] as number));
        this.encodeOwn(s, c, tmp16, tick);
        continue;
      }
      this.encodeShared(s, STREAM_MIX, c, tick);
    }
  }

  private decodeG711(c: number, data: Uint8Array, fo: number, len: number, base: number): void {
    const pcmIn = this.pcmIn;
    const table = c === CODEC_PCMU ? ULAW_DECODE : ALAW_DECODE;
    for (let i = 0; i < len; i++) pcmIn[base + i] = table[data[fo + i] as number] as number;
    for (let i = len; i < F8; i++) pcmIn[base + i] = 0;
  }

  /** Makes sure a shared stream's 8 kHz frame for this tick exists. */
  private streamDownSample(stream: number, tick: number): void {
    if (this.streamDownTick[stream] === tick) return;
    const src = stream === STREAM_MIX ? this.mix16 : this.mohFrame(stream - 1, tick);
    const srcOff = stream === STREAM_MIX ? 0 : (stream - 1) * F16;
    downsample2x(src, srcOff, F16, this.streamDown8, stream * F8, this.streamDownHist, stream * DOWN_HISTORY);
    this.streamDownTick[stream] = tick;
  }

  private mohFrame(m: number, tick: number): Int16Array {
    if (this.mohTick[m] !== tick) {
      this.mohPos[m] = (this.mohList[m] as LoopSource).frameAt(this.mohPos[m] as number, this.mohFrames, m * F16);
      this.mohTick[m] = tick;
    }
    return this.mohFrames;
  }

  /** Points the slot at a shared stream's payload for its codec, encoding it on first use this tick. */
  private encodeShared(s: number, stream: number, c: number, tick: number): void {
    const k = stream * CODEC_COUNT + c;
    const off = k * MAX_PAYLOAD;
    this.outOffset[s] = off;
    if (c === CODEC_OPUS) {
      this.outLength[s] = this.encodeSharedOpus(stream, k, off, tick);
      return;
    }
    this.outLength[s] = F8;
    if (stream === this.silenceStream || this.streamEncTick[k] === tick) return;
    this.streamEncTick[k] = tick;
    const arena = this.arena;
    if (c === CODEC_G722) {
      let enc = this.streamG722[stream] ?? null;
      if (enc === null) {
        enc = new G722Encoder();
        this.streamG722[stream] = enc;
      }
      const src = stream === STREAM_MIX ? this.mix16 : this.mohFrame(stream - 1, tick);
      enc.encode(src, stream === STREAM_MIX ? 0 : (stream - 1) * F16, F16, arena, off);
      return;
    }
    this.streamDownSample(stream, tick);
    const d8 = this.streamDown8;
    const b = stream * F8;
    const table = c === CODEC_PCMU ? ULAW_ENCODE : ALAW_ENCODE;
    for (let i = 0; i < F8; i++) arena[off + i] = table[(d8[b + i] as number) + 32768] as number;
  }

  /** A shared stream's Opus packet for this tick (encoded on first use); returns its length. */
  private encodeSharedOpus(stream: number, k: number, off: number, tick: number): number {
    if (this.streamEncTick[k] === tick) return this.streamEncLen[k] as number;
    this.streamEncTick[k] = tick;
    const opus = this.opus as OpusMixState;
    let len: number;
    if (stream === this.silenceStream) {
      len = opus.writeSilence(this.arena, off);
    } else {
      const src = stream === STREAM_MIX ? this.mix16 : this.mohFrame(stream - 1, tick);
      len = opus.encodeStream(stream, src, stream === STREAM_MIX ? 0 : (stream - 1) * F16, this.arena, off);
    }
    this.streamEncLen[k] = len;
    return len;
  }

  /** Encodes a 16 kHz frame for this slot alone (prompt or N-1 mix). */
  private encodeOwn(s: number, c: number, pcm16: Int16Array, tick: number): void {
    const off = this.slotBase + s * MAX_PAYLOAD;
    const arena = this.arena;
    const continuing = this.ownTick[s] === tick - 1;
    this.ownTick[s] = tick;
    this.outOffset[s] = off;
    this.outLength[s] = F8;
    if (c === CODEC_OPUS) {
      this.outLength[s] = (this.opus as OpusMixState).encodeOwn(s, continuing, pcm16, arena, off);
      return;
    }
    if (c === CODEC_G722) {
      const enc = this.g722Enc[s] as G722Encoder;
      // Switching from the shared stream: carry on from its encoder state so the
      // caller's decoder does not see a jump.
      if (!continuing && this.mixG722Used) enc.copyFrom(this.mixG722Snapshot);
      enc.encode(pcm16, 0, F16, arena, off);
      return;
    }
    if (!continuing) this.downHist.set(this.mixHistSnapshot, s * DOWN_HISTORY);
    const tmp8 = this.tmp8;
    downsample2x(pcm16, 0, F16, tmp8, 0, this.downHist, s * DOWN_HISTORY);
    const table = c === CODEC_PCMU ? ULAW_ENCODE : ALAW_ENCODE;
    for (let i = 0; i < F8; i++) arena[off + i] = table[(tmp8[i] as number) + 32768] as number;
  }
}
