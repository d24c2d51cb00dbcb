/**
 * Opus (RFC 6716) through the system's libopus (Debian's `libopus0`) and bun:ffi.
 *
 * Opus is too large to write by hand like G.711 and G.722, and libopus is the reference
 * implementation every phone uses. The npm bindings either ship a WebAssembly build
 * (a copy per call of its heap, and a copy of every frame in and out of it) or a native
 * addon built at install time; the shared library is already on the machine, so the
 * wrapper is a few ffi calls.
 *
 * Per frame nothing is allocated: each encoder and decoder owns its input and output
 * typed arrays, their addresses are taken once (`ptr()`) when the object is made, and a
 * frame is copied in, coded by one ffi call, and copied out. The native states are made
 * by `opus_*_create` and freed by `destroy()` (idempotent); a FinalizationRegistry frees
 * the ones a caller forgot, so a dropped object never leaks its native memory.
 *
 * When the library cannot be loaded `opusAvailable()` is false and `opusLoadError()`
 * says why: the service then neither offers nor accepts Opus.
 */
import { dlopen, FFIType, type Pointer, ptr, toArrayBuffer } from "bun:ffi";

const OPUS_OK = 0;
const OPUS_APPLICATION_VOIP = 2048;
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_VBR = 4006;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_DTX = 4016;
const OPUS_RESET_STATE = 4028;
const OPUS_ERRORS: Record<number, string> = {
  [-1]: "bad argument",
  [-2]: "buffer too small",
  [-3]: "internal error",
  [-4]: "invalid packet",
  [-5]: "unimplemented",
  [-6]: "invalid state",
  [-7]: "allocation failed",
};

/** Samples of the longest Opus packet (120 ms) per channel at 48 kHz. */
const MAX_PACKET_SAMPLES_48K = 5760;
/** Bytes of the largest Opus packet of one frame (RFC 6716 section 3.2.1). */
export const OPUS_MAX_PACKET = 1275;
/** Default paths tried, the soname first. */
const LIBRARY_PATHS = ["libopus.so.0", "/usr/lib/x86_64-linux-gnu/libopus.so.0", "/usr/lib/aarch64-linux-gnu/libopus.so.0"];

type Lib = {
  opus_get_version_string(): unknown;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_create(fs: number, channels: number, application: number, error: Pointer): Pointer | null;
  opus_encoder_destroy(st: Pointer): void;
  opus_encode(st: Pointer, pcm: Pointer, frameSize: number, data: Pointer, maxBytes: number): number;
  opus_encoder_ctl(st: Pointer, request: number, value: number): number;
  opus_decoder_create(fs: number, channels: number, error: Pointer): Pointer | null;
  opus_decoder_destroy(st: Pointer): void;
  opus_decode(st: Pointer, data: Pointer | null, len: number, pcm: Pointer, frameSize: number, fec: number): number;
  opus_decoder_ctl(st: Pointer, request: number, value: number): number;
};

let lib: Lib | null | undefined;
let loadError: string | null = null;
let version = "";
let paths: readonly string[] = LIBRARY_PATHS;

function open(path: string): Lib {
  const { symbols } = dlopen(path, {
    opus_get_version_string: { args: [], returns: FFIType.cstring },
    opus_encoder_get_size: { args: [FFIType.i32], returns: FFIType.i32 },
    opus_encoder_create: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.ptr },
    opus_encoder_destroy: { args: [FFIType.ptr], returns: FFIType.void },
    opus_encode: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    // Variadic in C: every request we make takes one int, passed like a fixed argument on x86-64 and arm64 alike.
    opus_encoder_ctl: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    opus_decoder_create: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.ptr },
    opus_decoder_destroy: { args: [FFIType.ptr], returns: FFIType.void },
    opus_decode: {
      args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.i32],
      returns: FFIType.i32,
    },
    opus_decoder_ctl: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  });
  return symbols as unknown as Lib;
}

function load(): Lib | null {
  if (lib !== undefined) return lib;
  lib = null;
  const errors: string[] = [];
  for (const path of paths) {
    try {
      lib = open(path);
      version = String(lib.opus_get_version_string());
      loadError = null;
      return lib;
    } catch (err) {
      errors.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  loadError = errors.length > 0 ? errors.join("; ") : "no library path";
  return lib;
}

/**
 * Whether libopus could be loaded (tried once, on the first call).
 * @example if (!opusAvailable()) log.warn(`Opus is off: ${opusLoadError()}`);
 */
export function opusAvailable(): boolean {
  return load() !== null;
}

/** Why libopus could not be loaded, or null when it was (or was not tried yet). */
export function opusLoadError(): string | null {
  load();
  return loadError;
}

/** The loaded library's version string (e.g. "libopus 1.3.1"), or "" when it is missing. */
export function opusVersion(): string {
  load();
  return version;
}

/**
 * Loads libopus from these paths from now on (the first that opens), or from none
 * (`[]`: Opus off). For tests and for hosts that keep the library elsewhere; codecs
 * made before keep the library they were made with.
 * @example useOpusLibrary(["/opt/opus/lib/libopus.so.0"]);
 */
export function useOpusLibrary(libraryPaths: readonly string[] = LIBRARY_PATHS): boolean {
  paths = libraryPaths;
  lib = undefined;
  version = "";
  return opusAvailable();
}

function need(): Lib {
  const l = load();
  if (!l) throw new OpusError(`libopus is not available: ${loadError}`);
  return l;
}

function check(code: number, what: string): number {
  if (code < 0) throw new OpusError(`${what}: ${OPUS_ERRORS[code] ?? `error ${code}`}`);
  return code;
}

/** A libopus call failed (bad settings, or the library is missing). */
export class OpusError extends Error {
  override name = "OpusError";
}

type Native = { lib: Lib; handle: Pointer; destroy: "encoder" | "decoder" };

/** Native states alive now (made and not yet destroyed or collected): for leak tests. */
let liveStates = 0;
/** Opus encoder and decoder states alive now. */
export function opusLiveStates(): number {
  return liveStates;
}
function freeNative(n: Native): void {
  liveStates--;
  if (n.destroy === "encoder") n.lib.opus_encoder_destroy(n.handle);
  else n.lib.opus_decoder_destroy(n.handle);
}
/** Frees the native state of an encoder or decoder that was dropped without `destroy()`. */
const countingFinalizer = new FinalizationRegistry<Native>(freeNative);

/**
 * Makes the native state of `owner` with `create` (given where to write the error code),
 * counts it and frees it when `owner` is collected without `destroy()`.
 */
function createNative(owner: object, lib: Lib, kind: Native["destroy"], create: (errPtr: Pointer) => Pointer | null): Native {
  const err = new Int32Array(1);
  const handle = create(ptr(err));
  if (!handle || err[0] !== OPUS_OK) throw new OpusError(`opus_${kind}_create: ${OPUS_ERRORS[err[0] ?? -3] ?? err[0]}`);
  const native: Native = { lib, handle, destroy: kind };
  liveStates++;
  countingFinalizer.register(owner, native, owner);
  return native;
}

/** Frees `owner`'s native state now (its `destroy()`). */
function destroyNative(owner: object, native: Native): void {
  countingFinalizer.unregister(owner);
  freeNative(native);
}

/** The checked sample rate (default 16000) and channel count (default 1) of a new encoder or decoder. */
function streamFormat(options: { sampleRate?: number; channels?: number }): { sampleRate: number; channels: number } {
  const sampleRate = options.sampleRate ?? 16000;
  checkRate(sampleRate);
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 2) throw new OpusError(`channels must be 1 or 2, not ${channels}`);
  return { sampleRate, channels };
}

function checkRate(sampleRate: number): void {
  if (![8000, 12000, 16000, 24000, 48000].includes(sampleRate))
    throw new OpusError(`sampleRate must be 8000, 12000, 16000, 24000 or 48000, not ${sampleRate}`);
}

/** Options of an `OpusEncoder`. */
export interface OpusEncoderOptions {
  /** Input sample rate, Hz (default 16000: the mixer's wideband rate). */
  sampleRate?: number;
  /** 1 or 2 (default 1). */
  channels?: number;
  /** Frame duration, ms: 10, 20, 40 or 60 (default 20). */
  frameMs?: number;
  /** Target bits per second (default 24000: clear wideband speech). */
  bitrate?: number;
  /** 0..10, CPU for quality (default 5; see BENCHMARKS.md). */
  complexity?: number;
  /** Variable bitrate (default true). */
  vbr?: boolean;
  /** In-band forward error correction (default false). */
  fec?: boolean;
  /** Expected packet loss, percent, for FEC (default 0). */
  packetLossPercent?: number;
  /** Discontinuous transmission (default false: the mixer sends a frame every tick). */
  dtx?: boolean;
  /** Largest packet to produce, bytes (default 320, the mixer's payload stride). */
  maxPacket?: number;
}

/**
 * An Opus encoder of one stream (application VOIP). `encode` takes one frame of
 * `frameSamples` samples per channel and writes one packet.
 * @example
 * const enc = new OpusEncoder({ sampleRate: 16000 });
 * const n = enc.encode(pcm16k, 0, payload, 0); // 320 samples in, n bytes out
 * enc.destroy();
 */
export class OpusEncoder {
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per channel in one frame. */
  readonly frameSamples: number;
  readonly maxPacket: number;
  private readonly lib: Lib;
  private handle: Pointer | null;
  private readonly native: Native;
  private readonly pcm: Int16Array;
  private readonly out: Uint8Array;
  private readonly pcmPtr: Pointer;
  private readonly outPtr: Pointer;
  /** The native state's bytes (libopus states are position independent: copyable). */
  private readonly state: Uint8Array;

  constructor(options: OpusEncoderOptions = {}) {
    const l = need();
    this.lib = l;
    const format = streamFormat(options);
    this.sampleRate = format.sampleRate;
    this.channels = format.channels;
    const frameMs = options.frameMs ?? 20;
    if (![10, 20, 40, 60].includes(frameMs)) throw new OpusError(`frameMs must be 10, 20, 40 or 60, not ${frameMs}`);
    this.frameSamples = (this.sampleRate / 1000) * frameMs;
    this.maxPacket = Math.max(3, Math.min(OPUS_MAX_PACKET, options.maxPacket ?? 320));
    this.pcm = new Int16Array(this.frameSamples * this.channels);
    this.out = new Uint8Array(this.maxPacket);
    this.pcmPtr = ptr(this.pcm);
    this.outPtr = ptr(this.out);
    this.native = createNative(this, l, "encoder", (e) =>
      l.opus_encoder_create(this.sampleRate, this.channels, OPUS_APPLICATION_VOIP, e),
    );
    const handle = this.native.handle;
    this.handle = handle;
    this.state = new Uint8Array(toArrayBuffer(handle, 0, l.opus_encoder_get_size(this.channels)));
    try {
      this.ctl(OPUS_SET_BITRATE, options.bitrate ?? 24000, "bitrate");
      this.ctl(OPUS_SET_COMPLEXITY, options.complexity ?? 5, "complexity");
      this.ctl(OPUS_SET_VBR, options.vbr === false ? 0 : 1, "vbr");
      this.ctl(OPUS_SET_INBAND_FEC, options.fec ? 1 : 0, "fec");
      this.ctl(OPUS_SET_PACKET_LOSS_PERC, options.packetLossPercent ?? 0, "packetLossPercent");
      this.ctl(OPUS_SET_DTX, options.dtx ? 1 : 0, "dtx");
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  private ctl(request: number, value: number, what: string): void {
    check(this.lib.opus_encoder_ctl(this.live(), request, value), what);
  }

  private live(): Pointer {
    if (this.handle === null) throw new OpusError("the encoder was destroyed");
    return this.handle;
  }

  /** Whether `destroy()` was called. */
  get destroyed(): boolean {
    return this.handle === null;
  }

  /**
   * Encodes `frameSamples` samples per channel (interleaved) from `pcm[off..]` into
   * `dst[dstOff..]`; returns the packet's length in bytes (at most `maxPacket`).
   */
  encode(pcm: Int16Array, off: number, dst: Uint8Array, dstOff: number): number {
    const input = this.pcm;
    const n = input.length;
    for (let i = 0; i < n; i++) input[i] = pcm[off + i] as number;
    const len = this.lib.opus_encode(this.live(), this.pcmPtr, this.frameSamples, this.outPtr, this.maxPacket);
    if (len < 0) check(len, "opus_encode");
    const out = this.out;
    for (let i = 0; i < len; i++) dst[dstOff + i] = out[i] as number;
    return len;
  }

  /**
   * Takes over another encoder's whole state (same rate and channels), so that the next
   * packet continues its stream: a receiver's decoder sees no jump.
   */
  copyFrom(other: OpusEncoder): void {
    this.live();
    other.live();
    if (other.state.length !== this.state.length || other.sampleRate !== this.sampleRate)
      throw new OpusError("copyFrom needs an encoder of the same rate and channels");
    this.state.set(other.state);
  }

  /** Starts a new stream (as if just made, settings kept). */
  reset(): void {
    this.ctl(OPUS_RESET_STATE, 0, "reset");
  }

  /** Frees the native state. Idempotent; the encoder cannot be used after. */
  destroy(): void {
    if (this.handle === null) return;
    destroyNative(this, this.native);
    this.handle = null;
  }
}

/** Options of an `OpusDecoder`. */
export interface OpusDecoderOptions {
  /** Output sample rate, Hz (default 16000); any Opus stream decodes to any of the five rates. */
  sampleRate?: number;
  /** Output channels, 1 or 2 (default 1: a stereo stream is mixed down). */
  channels?: number;
  /** Samples per channel of one frame, what `decode` and `conceal` write (default 20 ms). */
  frameMs?: number;
}

/**
 * An Opus decoder of one stream. `decode` writes one frame of `frameSamples` samples
 * (a shorter packet is padded with silence, a longer one cut); `conceal` writes one
 * frame of packet-loss concealment in place of a missing packet.
 * @example
 * const dec = new OpusDecoder({ sampleRate: 16000 });
 * if (n > 0) dec.decode(payload, off, n, pcm, 0); else dec.conceal(pcm, 0);
 * dec.destroy();
 */
export class OpusDecoder {
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per channel in one frame. */
  readonly frameSamples: number;
  /** Packets that failed to decode (concealed instead). */
  errors = 0;
  private readonly lib: Lib;
  private handle: Pointer | null;
  private readonly native: Native;
  private readonly input: Uint8Array;
  private readonly pcm: Int16Array;
  private readonly inputPtr: Pointer;
  private readonly pcmPtr: Pointer;
  /** Samples per channel `pcm` holds: the longest packet (120 ms). */
  private readonly maxSamples: number;

  constructor(options: OpusDecoderOptions = {}) {
    const l = need();
    this.lib = l;
    const format = streamFormat(options);
    this.sampleRate = format.sampleRate;
    this.channels = format.channels;
    this.frameSamples = (this.sampleRate / 1000) * (options.frameMs ?? 20);
    this.maxSamples = (MAX_PACKET_SAMPLES_48K * this.sampleRate) / 48000;
    this.input = new Uint8Array(OPUS_MAX_PACKET);
    this.pcm = new Int16Array(this.maxSamples * this.channels);
    this.inputPtr = ptr(this.input);
    this.pcmPtr = ptr(this.pcm);
    this.native = createNative(this, l, "decoder", (e) => l.opus_decoder_create(this.sampleRate, this.channels, e));
    this.handle = this.native.handle;
  }

  private live(): Pointer {
    if (this.handle === null) throw new OpusError("the decoder was destroyed");
    return this.handle;
  }

  /** Whether `destroy()` was called. */
  get destroyed(): boolean {
    return this.handle === null;
  }

  /**
   * Decodes the packet `data[off..off+len)` into one frame at `pcm[pcmOff..]`
   * (`frameSamples` per channel, interleaved). A packet that does not decode (or is
   * longer than `OPUS_MAX_PACKET`) is concealed instead and counted in `errors`.
   * Returns the samples per channel the packet held.
   */
  decode(data: Uint8Array, off: number, len: number, pcm: Int16Array, pcmOff: number): number {
    if (len <= 0 || len > OPUS_MAX_PACKET) {
      this.errors++;
      return this.conceal(pcm, pcmOff);
    }
    const input = this.input;
    for (let i = 0; i < len; i++) input[i] = data[off + i] as number;
    const n = this.lib.opus_decode(this.live(), this.inputPtr, len, this.pcmPtr, this.maxSamples, 0);
    if (n < 0) {
      this.errors++;
      return this.conceal(pcm, pcmOff);
    }
    this.copyOut(n, pcm, pcmOff);
    return n;
  }

  /** Writes one frame of packet-loss concealment (libopus PLC) for a missing packet. */
  conceal(pcm: Int16Array, pcmOff: number): number {
    const n = this.lib.opus_decode(this.live(), null, 0, this.pcmPtr, this.frameSamples, 0);
    this.copyOut(n < 0 ? 0 : n, pcm, pcmOff);
    return this.frameSamples;
  }

  private copyOut(n: number, pcm: Int16Array, pcmOff: number): void {
    const src = this.pcm;
    const total = this.frameSamples * this.channels;
    const have = Math.min(n * this.channels, total);
    for (let i = 0; i < have; i++) pcm[pcmOff + i] = src[i] as number;
    for (let i = have; i < total; i++) pcm[pcmOff + i] = 0;
  }

  /** Starts a new stream (forgets the previous packets). */
  reset(): void {
    check(this.lib.opus_decoder_ctl(this.live(), OPUS_RESET_STATE, 0), "reset");
  }

  /** Frees the native state. Idempotent; the decoder cannot be used after. */
  destroy(): void {
    if (this.handle === null) return;
    destroyNative(this, this.native);
    this.handle = null;
  }
}
