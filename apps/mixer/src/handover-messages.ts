/**
 * The bodies of the hand-over steps (handover.ts, browser-relay.ts), validated at the
 * edge: another node is another process.
 */
import { CODEC_NAMES } from "@conf/media";
import { z } from "zod";

const role = z.enum(["host", "participant", "listener"]);

/** What the front sends with `offer`. */
export const handoverOfferSchema = z.object({
  callSid: z.string().min(1),
  dateCreated: z.string(),
  party: z.object({
    from: z.string(),
    to: z.string(),
    displayName: z.string(),
    callerNumber: z.string().nullable(),
    sourceAddress: z.string(),
  }),
  media: z.object({
    codec: z.enum(CODEC_NAMES),
    /** The phone's payload type for the codec (Opus's is dynamic; absent from older nodes). */
    payloadType: z.number().int().min(0).max(127).optional(),
    telephoneEventPt: z.number().int().min(0).max(127).nullable(),
    remoteAddress: z.string(),
    remotePort: z.number().int().min(0).max(65535),
  }),
  decision: z
    .object({
      kind: z.literal("join"),
      accountSid: z.string(),
      meetingKey: z.string(),
      meetingRoomSid: z.string().nullable(),
      role,
      accessCode: z.string().nullable(),
      attributes: z.record(z.string(), z.string()),
    })
    .passthrough(),
  /** The roll-call name at 16 kHz, as base64 of its little-endian samples. */
  name: z.string().nullable(),
  /**
   * The o= line the owner's offer must carry (the phone's session goes on): the front's
   * session id and address, the version raised. Absent from older nodes: a new o= line.
   */
  sdpOrigin: z
    .object({
      sessionId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      sessionVersion: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      originAddress: z.string().regex(/^[0-9A-Za-z.:-]{1,253}$/),
    })
    .optional(),
  /** When the caller keyed its code (epoch ms on the front): the owner measures the join from it. */
  codeKeyedAt: z.number().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * Set when the call moves on because the node that mixed it died (failover.ts): it
   * rejoins this meeting, which the store already moved to the receiving node.
   */
  failover: z.object({ meetingSid: z.string().min(1).max(200), fromNodeId: z.string().min(1).max(200) }).optional(),
  /**
   * A browser's call (browser-relay.ts): the front keeps its WebRTC leg and dialog and
   * relays its media as plain RTP; the owner adopts no dialog (the commit has none) and
   * ends the call with `ended`, the front passes its hang-up on with `bye`.
   */
  relay: z.boolean().optional(),
});
export type HandoverOffer = z.infer<typeof handoverOfferSchema>;

export const handoverReadySchema = z.object({ sdp: z.string().min(1), contact: z.string().min(1) });

export const handoverDigitSchema = z.object({ digit: z.string().regex(/^[0-9*#A-D]$/) });

export const handoverCommitSchema = z.object({
  /** A Dialog.snapshot(); SipUa.adoptDialog checks it field by field. */
  dialog: z.unknown(),
  answer: z.string().min(1),
});

/** Int16 samples to base64 (little-endian, as every machine we run on). */
export function samplesToBase64(samples: Int16Array): string {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString("base64");
}

export function samplesFromBase64(text: string): Int16Array {
  const bytes = Buffer.from(text, "base64");
  const out = new Int16Array(bytes.length >> 1);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 2));
  return out;
}
