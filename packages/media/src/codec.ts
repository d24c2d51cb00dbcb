/**
 * The audio codecs the mixer speaks, as small integer ids used in its typed arrays.
 * Names are the ones of the Call object's `codecs` field and of SDP rtpmap lines.
 */

/** Codec names, in our order of preference when we offer. */
export const CODEC_NAMES = ["PCMU", "PCMA", "G722"] as const;
/** A codec name. */
export type CodecName = (typeof CODEC_NAMES)[number];

/** Codec id of G.711 µ-law. */
export const CODEC_PCMU = 0;
/** Codec id of G.711 A-law. */
export const CODEC_PCMA = 1;
/** Codec id of G.722. */
export const CODEC_G722 = 2;
/** Number of codec ids. */
export const CODEC_COUNT = 3;

/** Static RTP payload type per codec id (RFC 3551). */
export const CODEC_PAYLOAD_TYPES: readonly number[] = [0, 8, 9];
/** RTP clock rate per codec id (G.722 is 8000 on the wire by RFC 3551's erratum-turned-rule). */
export const CODEC_CLOCK_RATES: readonly number[] = [8000, 8000, 8000];
/** Audio sample rate per codec id. */
export const CODEC_SAMPLE_RATES: readonly number[] = [8000, 8000, 16000];
/** Payload bytes per 20 ms frame per codec id. */
export const CODEC_FRAME_BYTES: readonly number[] = [160, 160, 160];
/** RTP timestamp units per 20 ms frame per codec id. */
export const CODEC_FRAME_TIMESTAMP: readonly number[] = [160, 160, 160];

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
