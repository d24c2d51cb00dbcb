/**
 * Handing a call over between mixer nodes: the node that answered a call (and ran its
 * IVR) moves it to the node that mixes its meeting, so a meeting is mixed in exactly
 * one place and meetings spread over processes and cores.
 *
 * The steps travel over the store's control channel (HandoverMessage):
 *   front -> owner  offer   what the call is: party, media, the admission decision
 *   owner -> front  ready   the owner's RTP socket is open: its SDP offer and Contact
 *   front -> phone  re-INVITE with that SDP and Contact (a target refresh)
 *   front -> owner  commit  the phone said 200: the dialog's snapshot and its answer
 *   front -> owner  abort   the phone refused or the call ended; the front keeps it
 * and afterwards, for phones that keep sending in-dialog requests to the front (they
 * ignore the target refresh; Net::SIP does):
 *   front -> owner  digit   a SIP INFO key arrived at the front
 *   front -> owner  bye     the phone's BYE arrived at the front
 *   owner -> front  ended   the call is over; the front forgets the dialog
 * Bodies are validated here, at the edge: another node is another process.
 */
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
    codec: z.enum(["PCMU", "PCMA", "G722"]),
    telephoneEventPt: z.number().int().min(0).max(127).nullable(),
    remoteAddress: z.string(),
    remotePort: z.number().int().min(0).max(65535),
  }),
  decision: z.object({
    kind: z.literal("join"),
    accountSid: z.string(),
    meetingKey: z.string(),
    meetingRoomSid: z.string().nullable(),
    role,
    accessCode: z.string().nullable(),
    attributes: z.record(z.string(), z.string()),
  }).passthrough(),
  /** The roll-call name at 16 kHz, as base64 of its little-endian samples. */
  name: z.string().nullable(),
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

/**
 * Where new meetings go: to the node carrying the fewest calls this front handed over
 * (round robin among equals), and to the same node for every caller of a meeting that
 * is still being set up (its first caller's hand-over may not have created it in the
 * store yet).
 */
export class MeetingPlacement {
  private next = 0;
  private readonly recent = new Map<string, { nodeId: string; at: number }>();
  /** Calls handed to each node and not ended yet, as this front counts them. */
  private readonly load = new Map<string, number>();

  constructor(
    private readonly nodes: () => readonly string[],
    private readonly holdMs = 30_000,
  ) {}

  /** A call was handed over to `nodeId` (+1) or has ended there (-1). */
  count(nodeId: string, delta: number): void {
    const n = (this.load.get(nodeId) ?? 0) + delta;
    if (n > 0) this.load.set(nodeId, n);
    else this.load.delete(nodeId);
  }

  /** The node for a meeting that does not exist yet, or null when there is none to place on. */
  place(meetingKey: string, now: number): string | null {
    const live = this.nodes();
    const seen = this.recent.get(meetingKey);
    if (seen && now - seen.at < this.holdMs && live.includes(seen.nodeId)) return seen.nodeId;
    if (live.length === 0) return null;
    let nodeId = live[this.next++ % live.length] as string;
    for (const n of live) if ((this.load.get(n) ?? 0) < (this.load.get(nodeId) ?? 0)) nodeId = n;
    this.recent.set(meetingKey, { nodeId, at: now });
    for (const [k, v] of this.recent) if (now - v.at >= this.holdMs) this.recent.delete(k);
    return nodeId;
  }

  /** A hand-over to `nodeId` failed: the next caller of the meeting gets placed afresh. */
  forget(meetingKey: string): void {
    this.recent.delete(meetingKey);
  }
}
