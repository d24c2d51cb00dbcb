/**
 * The Opus side of one `ConferenceMixer`: a decoder and an encoder per Opus caller, one
 * encoder per shared stream (the meeting mix, each music source), the constant silence
 * packet, and the mix encoder's state before this tick's frame (so a caller who starts
 * talking, and gets its own N-1 stream, continues the stream its decoder was following).
 *
 * One setting for every SIP caller: 16 kHz mono, 20 ms, `OPUS_MIX_ENCODER` (what our
 * SDP's fmtp asks for), so each shared stream is encoded once per tick whatever the
 * number of Opus listeners, like G.711. Native states are made when a slot becomes Opus
 * and freed when it leaves (`release`) or the mixer closes (`close`).
 */
import { OpusDecoder, OpusEncoder, type OpusEncoderOptions } from "./opus.ts";

/**
 * Encoder settings of the mix: 24 kbit/s VBR is clear wideband speech; complexity 3
 * costs about two thirds of libopus's default 9-10 per frame for speech that listeners
 * cannot tell apart at this rate (BENCHMARKS.md has the figures).
 */
export const OPUS_MIX_ENCODER: Readonly<OpusEncoderOptions> = {
  sampleRate: 16000,
  channels: 1,
  frameMs: 20,
  bitrate: 24000,
  complexity: 3,
  vbr: true,
  fec: false,
  dtx: false,
  maxPacket: 320,
};

/** Per-mixer Opus states, indexed by slot and by shared stream. */
export class OpusMixState {
  private readonly dec: (OpusDecoder | null)[] = [];
  private readonly enc: (OpusEncoder | null)[] = [];
  private readonly stream: (OpusEncoder | null)[];
  private snapshot: OpusEncoder | null = null;
  private snapshotValid = false;
  private silence: Uint8Array | null = null;

  constructor(streams: number) {
    this.stream = new Array<OpusEncoder | null>(streams).fill(null);
  }

  /** Makes (or resets) the slot's decoder and encoder: a new caller, or a codec change. */
  setup(slot: number): void {
    while (this.dec.length <= slot) {
      this.dec.push(null);
      this.enc.push(null);
    }
    const d = this.dec[slot];
    if (d) d.reset();
    else this.dec[slot] = new OpusDecoder({ sampleRate: 16000, channels: 1 });
    const e = this.enc[slot];
    if (e) e.reset();
    else this.enc[slot] = new OpusEncoder(OPUS_MIX_ENCODER);
  }

  /** Frees the slot's native states (hang-up, or a change to another codec). Idempotent. */
  release(slot: number): void {
    this.dec[slot]?.destroy();
    this.enc[slot]?.destroy();
    if (slot < this.dec.length) {
      this.dec[slot] = null;
      this.enc[slot] = null;
    }
  }

  /** Decodes the caller's packet into one 320-sample frame at `pcm[off..]`. */
  decode(slot: number, data: Uint8Array, fo: number, len: number, pcm: Int16Array, off: number): void {
    (this.dec[slot] as OpusDecoder).decode(data, fo, len, pcm, off);
  }

  /** Writes the decoder's loss concealment for a missing packet. */
  conceal(slot: number, pcm: Int16Array, off: number): void {
    (this.dec[slot] as OpusDecoder).conceal(pcm, off);
  }

  /**
   * Remembers the mix encoder's state before this tick's frame; called once per tick.
   * Its state changes only on ticks it encodes, so it is copied only after those.
   */
  snapshotMix(mixStream: number, encodedLastTick: boolean): void {
    const mix = this.stream[mixStream] ?? null;
    if (mix === null || !encodedLastTick) return;
    if (this.snapshot === null) this.snapshot = new OpusEncoder(OPUS_MIX_ENCODER);
    this.snapshot.copyFrom(mix);
    this.snapshotValid = true;
  }

  /** Encodes a shared stream's frame (320 samples at 16 kHz) at `dst[off..]`; returns its length. */
  encodeStream(stream: number, pcm: Int16Array, pcmOff: number, dst: Uint8Array, off: number): number {
    let enc = this.stream[stream] ?? null;
    if (enc === null) {
      enc = new OpusEncoder(OPUS_MIX_ENCODER);
      this.stream[stream] = enc;
    }
    return enc.encode(pcm, pcmOff, dst, off);
  }

  /**
   * Encodes the caller's own frame (prompt or N-1 mix); `continuing` false when it heard
   * a shared stream last tick: its encoder then takes over the mix encoder's state.
   */
  encodeOwn(slot: number, continuing: boolean, pcm: Int16Array, dst: Uint8Array, off: number): number {
    const enc = this.enc[slot] as OpusEncoder;
    if (!continuing && this.snapshotValid) enc.copyFrom(this.snapshot as OpusEncoder);
    return enc.encode(pcm, 0, dst, off);
  }

  /** Writes the constant silence packet at `dst[off..]` (made once); returns its length. */
  writeSilence(dst: Uint8Array, off: number): number {
    let s = this.silence;
    if (s === null) {
      const enc = new OpusEncoder(OPUS_MIX_ENCODER);
      const zeros = new Int16Array(320);
      const out = new Uint8Array(320);
      let n = 0;
      // A few frames in, the encoder's output for digital silence is steady.
      for (let i = 0; i < 10; i++) n = enc.encode(zeros, 0, out, 0);
      enc.destroy();
      s = out.slice(0, n);
      this.silence = s;
    }
    for (let i = 0; i < s.length; i++) dst[off + i] = s[i] as number;
    return s.length;
  }

  /** Frees every native state. Idempotent. */
  close(): void {
    for (let s = 0; s < this.dec.length; s++) this.release(s);
    for (let i = 0; i < this.stream.length; i++) {
      this.stream[i]?.destroy();
      this.stream[i] = null;
    }
    this.snapshot?.destroy();
    this.snapshot = null;
    this.snapshotValid = false;
  }
}
