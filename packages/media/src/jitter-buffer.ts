/**
 * Adaptive jitter buffer for one caller's incoming audio, and packet-loss concealment.
 *
 * Frames are kept encoded (codec agnostic) in a ring of preallocated slots keyed by
 * the extended RTP sequence number. Playout starts once the buffer holds the target
 * delay; the target follows the RFC 3550 inter-arrival jitter estimate (4 x J,
 * clamped to `minDelayMs..maxDelayMs`). An underrun stalls playout by one frame (the
 * delay grows); a buffer that stays above target sheds one frame at a time (it
 * shrinks). Reordering, duplicates, sequence wrap, SSRC changes and far jumps are
 * handled; a timestamp jump (a sender that restarts its clock or pauses) only resets
 * the jitter baseline. RFC 4733 packets share the sequence space with audio: mark
 * their numbers with `skip()` so they are not taken for lost audio.
 *
 * `read()` is called once per mixer tick and returns the payload length (> 0), 0
 * when there is nothing to play (no stream yet, buffering, or the sender went quiet),
 * or -1 for a frame that is missing in a running stream: conceal it with
 * `concealFrame()`.
 */

/** Options of a `JitterBuffer`. */
export interface JitterBufferOptions {
  /** Ring size in frames, a power of two (default 64: 1.28 s of 20 ms frames). */
  capacity?: number;
  /** Largest payload in bytes (default 320). Longer packets are dropped. */
  maxPayload?: number;
  /** Frame duration in ms (default 20). */
  frameMs?: number;
  /** RTP clock rate of the codec, Hz (default 8000; also right for G.722). */
  clockRate?: number;
  /** Lowest playout delay in ms (default 40). */
  minDelayMs?: number;
  /** Highest playout delay in ms (default 200). */
  maxDelayMs?: number;
  /** Consecutive empty ticks after which the stream counts as paused (default 5). */
  idleAfterFrames?: number;
}

/** Read result: nothing to play this tick. */
export const JB_IDLE = 0;
/** Read result: a frame is missing; conceal it. */
export const JB_LOST = -1;

const EMPTY = -1;
const KIND_AUDIO = 1;
/** Bytes of a 20 ms G.711 or G.722 frame: the ring's slot size until a longer packet comes. */
const FRAME_20MS = 160;
const KIND_SKIP = 2;

/**
 * @example
 * const jb = new JitterBuffer();
 * jb.put(h.sequence, h.timestamp, h.ssrc, msg, h.payloadOffset, h.payloadLength, performance.now());
 * const n = jb.read(frame, 0); // every 20 ms
 */
export class JitterBuffer {
  readonly capacity: number;
  readonly maxPayload: number;
  readonly frameMs: number;
  readonly clockRate: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly idleAfterFrames: number;

  private readonly mask: number;
  /**
   * Storage of the ring; `readFrame()` points into it. Replaced (once) when the first
   * payload longer than a 20 ms frame arrives: read it after `readFrame()`.
   */
  frameData: Uint8Array;
  /** Offset in `frameData` of the frame `readFrame()` returned. */
  frameOffset = 0;
  /** Bytes per ring slot: a 20 ms frame, or `maxPayload` once a longer payload came. */
  private stride: number;
  private readonly lens: Int32Array;
  private readonly seqs: Int32Array;
  private readonly kinds: Uint8Array;

  private active = false;
  private ssrc = 0;
  private maxExt = 0;
  private nextPlay = 0;
  private playing = false;
  private overTicks = 0;
  private lastTransit = 0;
  private haveTransit = false;

  /** Inter-arrival jitter estimate (RFC 3550 J), ms. */
  jitterMs = 0;
  /** Consecutive ticks without a frame (loss or underrun). */
  lossRun = 0;
  /** Frames accepted. */
  received = 0;
  /** Frames handed to the reader (what the mix has taken of this stream). */
  played = 0;
  /** Packets that arrived after their playout time. */
  late = 0;
  /** Packets received twice. */
  duplicates = 0;
  /** Ticks concealed because a frame was missing. */
  lost = 0;
  /** Frames discarded to shrink the delay. */
  dropped = 0;
  /** Stream restarts (SSRC change or far sequence jump). */
  resets = 0;

  constructor(options: JitterBufferOptions = {}) {
    const capacity = options.capacity ?? 64;
    if (capacity < 8 || (capacity & (capacity - 1)) !== 0) throw new RangeError("capacity must be a power of two >= 8");
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxPayload = options.maxPayload ?? 320;
    this.frameMs = options.frameMs ?? 20;
    this.clockRate = options.clockRate ?? 8000;
    this.minDelayMs = options.minDelayMs ?? 40;
    this.maxDelayMs = Math.min(options.maxDelayMs ?? 200, (capacity - 2) * this.frameMs);
    this.idleAfterFrames = options.idleAfterFrames ?? 5;
    // Nearly every caller sends 20 ms frames: half the memory of `maxPayload` slots
    // (10 KB a call instead of 20 KB), widened in `put` for one that sends longer ones.
    this.stride = Math.min(this.maxPayload, FRAME_20MS);
    this.frameData = new Uint8Array(capacity * this.stride);
    this.lens = new Int32Array(capacity);
    this.seqs = new Int32Array(capacity).fill(EMPTY);
    this.kinds = new Uint8Array(capacity);
  }

  /** Current playout target, in frames. */
  get targetFrames(): number {
    let ms = 4 * this.jitterMs;
    if (ms < this.minDelayMs) ms = this.minDelayMs;
    if (ms > this.maxDelayMs) ms = this.maxDelayMs;
    const frames = Math.ceil(ms / this.frameMs - 1e-9);
    return frames < 1 ? 1 : frames;
  }

  /** Frames buffered ahead of the playout point. */
  get depth(): number {
    return this.active ? this.maxExt - this.nextPlay + 1 : 0;
  }

  /** True while frames are being played out (buffering done, stream not paused). */
  get isPlaying(): boolean {
    return this.playing;
  }

  /** Forgets everything (a new call on this buffer). */
  reset(): void {
    this.active = false;
    this.playing = false;
    this.seqs.fill(EMPTY);
    this.haveTransit = false;
    this.jitterMs = 0;
    this.lossRun = 0;
  }

  /**
   * Stores one audio packet's payload. Returns false when the packet is dropped
   * (late, duplicate, or too large).
   */
  put(
    sequence: number,
    timestamp: number,
    ssrc: number,
    payload: Uint8Array,
    off: number,
    len: number,
    arrivalMs: number,
  ): boolean {
    if (len > this.maxPayload || len < 0) return false;
    const ext = this.admit(sequence, ssrc);
    if (ext < 0) return false;
    if (len > this.stride) this.widen();
    const idx = ext & this.mask;
    const data = this.frameData;
    const base = idx * this.stride;
    for (let i = 0; i < len; i++) data[base + i] = payload[off + i] as number;
    this.lens[idx] = len;
    this.seqs[idx] = ext;
    this.kinds[idx] = KIND_AUDIO;
    if (ext > this.maxExt) this.maxExt = ext;
    this.received++;
    this.updateJitter(timestamp, arrivalMs);
    return true;
  }

  /** Gives every ring slot `maxPayload` bytes, keeping the frames buffered so far. */
  private widen(): void {
    const from = this.stride;
    const to = this.maxPayload;
    const old = this.frameData;
    const data = new Uint8Array(this.capacity * to);
    for (let idx = 0; idx < this.capacity; idx++) data.set(old.subarray(idx * from, (idx + 1) * from), idx * to);
    this.frameData = data;
    this.stride = to;
  }

  /** Marks a sequence number as used by a non-audio packet (RFC 4733) of the same stream. */
  skip(sequence: number, ssrc: number): void {
    const ext = this.admit(sequence, ssrc);
    if (ext < 0) return;
    const idx = ext & this.mask;
    this.lens[idx] = 0;
    this.seqs[idx] = ext;
    this.kinds[idx] = KIND_SKIP;
    if (ext > this.maxExt) this.maxExt = ext;
  }

  /** Extended sequence number for a packet, or -1 when it must be dropped. */
  private admit(sequence: number, ssrc: number): number {
    const seq = sequence & 0xffff;
    if (!this.active || ssrc !== this.ssrc) {
      if (this.active) this.resets++;
      // Extended numbers start one cycle up so that early packets never go negative.
      this.restart(seq + 0x10000, ssrc);
      return seq + 0x10000;
    }
    let delta = (seq - (this.maxExt & 0xffff)) & 0xffff;
    if (delta >= 0x8000) delta -= 0x10000;
    const ext = this.maxExt + delta;
    if (ext < this.nextPlay) {
      // Before playout starts an early packet may still move the start back.
      if (!this.playing && this.maxExt - ext < this.capacity - 1) {
        this.nextPlay = ext;
      } else if (delta < -(this.capacity * 4)) {
        // Far behind everything we have: the sender restarted its sequence.
        this.resets++;
        this.reposition(seq + 0x10000);
        return seq + 0x10000;
      } else {
        this.late++;
        return -1;
      }
    }
    if (ext - this.nextPlay >= this.capacity) {
      this.resets++;
      this.reposition(ext);
      return ext;
    }
    if (this.seqs[ext & this.mask] === ext) {
      this.duplicates++;
      return -1;
    }
    return ext;
  }

  private restart(ext: number, ssrc: number): void {
    this.active = true;
    this.ssrc = ssrc;
    this.haveTransit = false;
    this.reposition(ext);
  }

  private reposition(ext: number): void {
    this.seqs.fill(EMPTY);
    this.maxExt = ext;
    this.nextPlay = ext;
    this.playing = false;
    this.overTicks = 0;
  }

  private updateJitter(timestamp: number, arrivalMs: number): void {
    const transit = arrivalMs - (timestamp * 1000) / this.clockRate;
    if (this.haveTransit) {
      let d = transit - this.lastTransit;
      if (d < 0) d = -d;
      // A jump of a second or more is a clock restart or a pause, not network jitter.
      if (d < 1000) this.jitterMs += (d - this.jitterMs) / 16;
    }
    this.lastTransit = transit;
    this.haveTransit = true;
  }

  /**
   * Takes this tick's frame: copies its payload to `dst[dstOff..]` and returns its
   * length, or returns `JB_IDLE` (0) or `JB_LOST` (-1).
   */
  read(dst: Uint8Array, dstOff: number): number {
    const len = this.readFrame();
    if (len > 0) {
      const data = this.frameData;
      const from = this.frameOffset;
      for (let i = 0; i < len; i++) dst[dstOff + i] = data[from + i] as number;
    }
    return len;
  }

  /**
   * Takes this tick's frame without copying: returns its length, its bytes being
   * `frameData[frameOffset ..]` (valid until the next `put`), or `JB_IDLE` / `JB_LOST`.
   */
  readFrame(): number {
    if (!this.active) return JB_IDLE;
    const mask = this.mask;
    if (!this.playing) {
      if (this.maxExt - this.nextPlay + 1 < this.targetFrames) return JB_IDLE;
      while (this.nextPlay < this.maxExt && this.seqs[this.nextPlay & mask] !== this.nextPlay) this.nextPlay++;
      this.playing = true;
      this.lossRun = 0;
      this.overTicks = 0;
    }
    let idx = this.nextPlay & mask;
    while (this.seqs[idx] === this.nextPlay && this.kinds[idx] === KIND_SKIP) {
      this.seqs[idx] = EMPTY;
      this.nextPlay++;
      idx = this.nextPlay & mask;
    }
    if (this.seqs[idx] === this.nextPlay) {
      const len = this.lens[idx] as number;
      this.frameOffset = idx * this.stride;
      this.seqs[idx] = EMPTY;
      this.nextPlay++;
      this.lossRun = 0;
      this.adapt();
      if (len <= 0) return JB_LOST;
      this.played++;
      return len;
    }
    if (this.nextPlay <= this.maxExt) {
      // A hole with later frames behind it: that frame is lost.
      this.nextPlay++;
      this.lossRun++;
      this.lost++;
      return JB_LOST;
    }
    // Underrun: stall (the delay grows by a frame) or, after a while, call the stream paused.
    this.lossRun++;
    if (this.lossRun > this.idleAfterFrames) {
      this.playing = false;
      return JB_IDLE;
    }
    this.lost++;
    return JB_LOST;
  }

  private adapt(): void {
    const depth = this.maxExt - this.nextPlay + 1;
    const target = this.targetFrames;
    const maxFrames = Math.ceil(this.maxDelayMs / this.frameMs);
    if (depth > maxFrames) {
      while (this.maxExt - this.nextPlay + 1 > target) this.dropOne();
      this.overTicks = 0;
      return;
    }
    if (depth > target + 1) {
      // Shed one frame per 0.5 s while the buffer stays above target.
      if (++this.overTicks >= 25) {
        this.dropOne();
        this.overTicks = 0;
      }
    } else {
      this.overTicks = 0;
    }
  }

  private dropOne(): void {
    const idx = this.nextPlay & this.mask;
    if (this.seqs[idx] === this.nextPlay) this.seqs[idx] = EMPTY;
    this.nextPlay++;
    this.dropped++;
  }
}

/**
 * Packet-loss concealment on decoded PCM, in place: `pcm[off..off+n)` holds the last
 * frame played; for the `lossRun`-th consecutive missing frame it is repeated at half
 * the previous level, and from the fourth on it is silence.
 * @example if (n === JB_LOST) concealFrame(pcm, off, 160, jb.lossRun);
 */
export function concealFrame(pcm: Int16Array, off: number, n: number, lossRun: number): void {
  if (lossRun >= 4) {
    pcm.fill(0, off, off + n);
    return;
  }
  for (let i = off; i < off + n; i++) pcm[i] = (pcm[i] as number) >> 1;
}
