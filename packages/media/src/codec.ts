/**
 * The audio codecs the mixer speaks, as small integer ids used in its typed arrays.
 * Names are the ones of the Call object's `codecs` field (the reference lists "OPUS"
 * among them) and, but for Opus's "opus/48000/2", of SDP rtpmap lines.
 */
import { opusAvailable } from "./opus.ts";

/** Codec names, by id; also our order when we offer all of them. */
export const CODEC_NAMES = ["PCMU", "PCMA", "G722", "OPUS"] as const;
/** A codec name. */
export type CodecName = (typeof CODEC_NAMES)[number];

/** Codec id of G.711 µ-law. */
export const CODEC_PCMU = 0;
/** Codec id of G.711 A-law. */
export const CODEC_PCMA = 1;
/** Codec id of G.722. */
export const CODEC_G722 = 2;
/** Codec id of Opus (RFC 6716, RTP by RFC 7587), mixed at 16 kHz mono. */
export const CODEC_OPUS = 3;
/** Number of codec ids. */
export const CODEC_COUNT = 4;

/**
 * RTP payload type per codec id: static ones by RFC 3551; Opus has none, so 111 is only
 * what we put in our own offers (an answer takes the offer's number).
 */
export const CODEC_PAYLOAD_TYPES: readonly number[] = [0, 8, 9, 111];
/** RTP clock rate per codec id (G.722 is 8000 on the wire by RFC 3551's erratum-turned-rule; Opus is always 48000). */
export const CODEC_CLOCK_RATES: readonly number[] = [8000, 8000, 8000, 48000];
/** Audio sample rate per codec id, as the mixer codes it. */
export const CODEC_SAMPLE_RATES: readonly number[] = [8000, 8000, 16000, 16000];
/** Payload bytes per 20 ms frame per codec id; 0: variable (Opus). */
export const CODEC_FRAME_BYTES: readonly number[] = [160, 160, 160, 0];
/** RTP timestamp units per 20 ms frame per codec id. */
export const CODEC_FRAME_TIMESTAMP: readonly number[] = [160, 160, 160, 960];

/**
 * The codecs this process can use now: all of `CODEC_NAMES`, less Opus when libopus
 * cannot be loaded.
 * @example availableCodecs() // ["PCMU", "PCMA", "G722", "OPUS"]
 */
export function availableCodecs(): readonly CodecName[] {
  return opusAvailable() ? CODEC_NAMES : WITHOUT_OPUS;
}
const WITHOUT_OPUS: readonly CodecName[] = CODEC_NAMES.filter((c) => c !== "OPUS");

/** RTP timestamp units per 20 ms frame of a codec name (960 for Opus, else 160). */
export function frameTimestamp(name: CodecName): number {
  return CODEC_FRAME_TIMESTAMP[codecId(name)] as number;
}

/**
 * The id of a codec name (case-insensitive), or -1.
 * @example codecId("pcma") // 1
 */
export function codecId(name: string): number {
  return (CODEC_NAMES as readonly string[]).indexOf(name.toUpperCase());
}

/**
 * The name of a codec id.
 * @example codecName(2) // "G722"
 */
export function codecName(id: number): CodecName {
  const name = CODEC_NAMES[id];
  if (!name) throw new RangeError(`unknown codec id ${id}`);
  return name;
}
