/**
 * SDP offer/answer (RFC 3264) for audio calls, with sdp-transform doing the text.
 *
 * We answer one audio stream with one codec (the first of the offerer's list that we
 * support, unless the caller already uses one that is still offered) plus
 * telephone-event when offered at 8000 Hz; every other m-line is refused with port 0
 * in its place. Expected failures are values: the app answers 488 to any of them.
 */
import { parse, write } from "sdp-transform";
import type { MediaDescription, SessionDescription } from "sdp-transform";
import { CODEC_NAMES, type CodecName, CODEC_PAYLOAD_TYPES, codecId } from "./codec.ts";

/** Stream directions. */
export const DIRECTIONS = ["sendrecv", "sendonly", "recvonly", "inactive"] as const;
/** A stream direction. */
export type Direction = (typeof DIRECTIONS)[number];

/** Why an SDP could not be negotiated (all lead to 488 Not Acceptable Here). */
export const SDP_ERRORS = ["malformed SDP", "no audio stream", "no connection address", "no common codec"] as const;
/** An SDP negotiation failure. */
export type SdpError = (typeof SDP_ERRORS)[number];

/** Result of negotiating an offer or reading an answer. */
export type SdpResult<T> = { ok: true; value: T } | { ok: false; error: SdpError };

/** What both sides agreed on. */
export interface NegotiatedMedia {
  /** Codec name as used in the Call object's `codecs` field. */
  codec: CodecName;
  /** RTP payload type of the codec. */
  payloadType: number;
  /** RTP clock rate of the codec (8000 for all three, G.722 included). */
  clockRate: number;
  /** Payload type of telephone-event/8000, or null when the peer did not offer it. */
  telephoneEventPt: number | null;
  /** Where the peer wants our RTP (before symmetric-RTP latching). */
  remoteAddress: string;
  remotePort: number;
  /**
   * OUR direction for this stream: "sendrecv" or "sendonly" means we send audio,
   * "recvonly" or "inactive" means we do not (the peer put us on hold).
   */
  direction: Direction;
}

/** The answer to an offer, and what it agreed on. */
export interface SdpAnswer extends NegotiatedMedia {
  /** The answer SDP to put in the 200 OK. */
  answer: string;
}

/** Our side of the session. */
export interface LocalMedia {
  /** Address of our RTP socket (also used in o= and c=). */
  address: string;
  /** Port of our RTP socket. */
  port: number;
  /** o= session id; keep it for the dialog's later answers (default: random). */
  sessionId?: number;
  /** o= version; increase it in each later answer/offer of the dialog (default 1). */
  sessionVersion?: number;
  /**
   * o= address when it is not `address`: a session whose media moved to another host
   * keeps its first o= line (RFC 3264 section 8) while c= names the new host.
   */
  originAddress?: string;
  /** Codecs we accept, in no particular order (default all we implement). */
  codecs?: readonly CodecName[];
}

const ANSWER_DIRECTION: Record<Direction, Direction> = {
  sendrecv: "sendrecv",
  sendonly: "recvonly",
  recvonly: "sendonly",
  inactive: "inactive",
};

const STATIC_PT: Record<number, CodecName> = { 0: "PCMU", 8: "PCMA", 9: "G722" };

/** @internal */
export function safeParse(text: string): SessionDescription | null {
  try {
    const sdp = parse(text);
    if (!Array.isArray(sdp.media) || sdp.media.length === 0) return null;
    return sdp;
  } catch {
    return null;
  }
}

/** @internal The payload types an m-line lists (sdp-webrtc.ts reads them too). */
export function payloadList(m: MediaDescription): number[] {
  return String(m.payloads ?? "")
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
}

function isAudioRtp(m: MediaDescription): boolean {
  return m.type === "audio" && m.port > 0 && (m.protocol === "RTP/AVP" || m.protocol === "RTP/AVPF");
}

function ipVersion(address: string): number {
  return address.includes(":") ? 6 : 4;
}

function randomSessionId(): number {
  return Math.floor(Math.random() * 2 ** 31) + 1;
}

/** @internal Reads an m-line's offered codecs and telephone-event PT (sdp-webrtc.ts reads them too). */
export function offeredFormats(m: MediaDescription): {
  codecs: { pt: number; codec: CodecName }[];
  te: number | null;
  teFmtp: string | null;
} {
  const codecs: { pt: number; codec: CodecName }[] = [];
  let te: number | null = null;
  for (const pt of payloadList(m)) {
    const map = (m.rtp ?? []).find((r) => r.payload === pt);
    if (map) {
      const name = map.codec.toUpperCase();
      const rate = map.rate ?? 8000;
      if (name === "TELEPHONE-EVENT") {
        if (rate === 8000 && te === null) te = pt;
        continue;
      }
      const id = codecId(name);
      if (id >= 0 && rate === 8000 && (map.encoding === undefined || map.encoding === 1))
        codecs.push({ pt, codec: CODEC_NAMES[id] as CodecName });
    } else if (STATIC_PT[pt]) {
      codecs.push({ pt, codec: STATIC_PT[pt] as CodecName });
    }
  }
  const teFmtp = te === null ? null : ((m.fmtp ?? []).find((f) => f.payload === te)?.config ?? null);
  return { codecs, te, teFmtp };
}

function audioMedia(
  port: number,
  pt: number,
  codec: CodecName,
  te: number | null,
  teFmtp: string | null,
  direction: Direction,
): MediaDescription {
  const rtp: MediaDescription["rtp"] = [{ payload: pt, codec, rate: 8000 }];
  const fmtp: MediaDescription["fmtp"] = [];
  if (te !== null) {
    rtp.push({ payload: te, codec: "telephone-event", rate: 8000 });
    fmtp.push({ payload: te, config: teFmtp ?? "0-16" });
  }
  return {
    type: "audio",
    port,
    protocol: "RTP/AVP",
    payloads: te === null ? String(pt) : `${pt} ${te}`,
    rtp,
    fmtp,
    ptime: 20,
    direction,
  };
}

function session(local: LocalMedia, media: MediaDescription[]): string {
  const ipVer = ipVersion(local.address);
  const originAddress = local.originAddress ?? local.address;
  const desc: SessionDescription = {
    version: 0,
    origin: {
      username: "-",
      sessionId: local.sessionId ?? randomSessionId(),
      sessionVersion: local.sessionVersion ?? 1,
      netType: "IN",
      ipVer: ipVersion(originAddress),
      address: originAddress,
    },
    name: "-",
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  };
  return write(desc);
}

/** What an answer we give and an answer we read agree on alike (all three codecs run at 8000 Hz RTP clock). */
function agreed(
  chosen: { pt: number; codec: CodecName },
  te: number | null,
  remoteAddress: string,
  remotePort: number,
  direction: Direction,
): NegotiatedMedia {
  return {
    codec: chosen.codec,
    payloadType: chosen.pt,
    clockRate: 8000,
    telephoneEventPt: te,
    remoteAddress,
    remotePort,
    direction,
  };
}

/**
 * Answers an SDP offer. Picks the first codec of the offer's m-line that we support
 * (or `keepCodec` when it is still offered, so a re-INVITE does not switch codecs),
 * telephone-event/8000 with the offer's payload type, and the answer direction
 * (offer sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive). An offer
 * whose audio address is 0.0.0.0 (RFC 2543 hold) gets recvonly.
 * @example
 * const r = negotiateAnswer(invite.sdp, { address: "127.0.0.1", port: 20000 });
 * if (!r.ok) return reject(488); // r.error: "no common codec", ...
 * accept(r.value.answer);
 */
export function negotiateAnswer(offer: string, local: LocalMedia, keepCodec?: CodecName): SdpResult<SdpAnswer> {
  const sdp = safeParse(offer);
  if (!sdp) return { ok: false, error: "malformed SDP" };
  const index = sdp.media.findIndex(isAudioRtp);
  if (index < 0) return { ok: false, error: "no audio stream" };
  const m = sdp.media[index] as MediaDescription;
  const remoteAddress = m.connection?.ip ?? sdp.connection?.ip;
  if (!remoteAddress) return { ok: false, error: "no connection address" };
  const accepted = local.codecs ?? CODEC_NAMES;
  const { codecs, te, teFmtp } = offeredFormats(m);
  const usable = codecs.filter((c) => accepted.includes(c.codec));
  const chosen = usable.find((c) => c.codec === keepCodec) ?? usable[0];
  if (!chosen) return { ok: false, error: "no common codec" };
  const offered: Direction = m.direction ?? sdp.direction ?? "sendrecv";
  let direction = ANSWER_DIRECTION[offered];
  if ((remoteAddress === "0.0.0.0" || remoteAddress === "::") && direction === "sendrecv") direction = "recvonly";

  const media: MediaDescription[] = sdp.media.map((other, i) => {
    if (i === index) return audioMedia(local.port, chosen.pt, chosen.codec, te, teFmtp, direction);
    // Refused streams keep their place, with port 0 and a format from the offer.
    const first = payloadList(other)[0];
    return {
      type: other.type,
      port: 0,
      protocol: other.protocol,
      payloads: first !== undefined ? String(first) : String(other.payloads ?? "0").split(" ")[0],
      rtp: [],
      fmtp: [],
    };
  });
  return { ok: true, value: { answer: session(local, media), ...agreed(chosen, te, remoteAddress, m.port, direction) } };
}

/** Options of `buildOffer`. */
export interface OfferOptions extends LocalMedia {
  /** Payload type for telephone-event (default 101), or null for none. */
  telephoneEventPt?: number | null;
  /** Our direction (default "sendrecv"; "sendonly" for a recording leg). */
  direction?: Direction;
}

/**
 * Builds an SDP offer for an outgoing call (e.g. the remote-recording leg): one audio
 * stream offering `codecs` in that order with their static payload types, plus
 * telephone-event.
 * @example const sdp = buildOffer({ address: "127.0.0.1", port: 20002, direction: "sendonly" });
 */
export function buildOffer(options: OfferOptions): string {
  const codecs = options.codecs ?? CODEC_NAMES;
  const te = options.telephoneEventPt === undefined ? 101 : options.telephoneEventPt;
  const rtp: MediaDescription["rtp"] = codecs.map((c) => ({
    payload: CODEC_PAYLOAD_TYPES[codecId(c)] as number,
    codec: c,
    rate: 8000,
  }));
  const pts = rtp.map((r) => r.payload);
  const fmtp: MediaDescription["fmtp"] = [];
  if (te !== null) {
    rtp.push({ payload: te, codec: "telephone-event", rate: 8000 });
    fmtp.push({ payload: te, config: "0-16" });
    pts.push(te);
  }
  return session(options, [
    {
      type: "audio",
      port: options.port,
      protocol: "RTP/AVP",
      payloads: pts.join(" "),
      rtp,
      fmtp,
      ptime: 20,
      direction: options.direction ?? "sendrecv",
    },
  ]);
}

/**
 * Reads the answer to an offer we made with `buildOffer`: the codec the peer chose
 * (its first listed one we support), its telephone-event PT, where to send, and OUR
 * resulting direction.
 * @example const r = parseAnswer(response.sdp); if (r.ok) startSending(r.value);
 */
export function parseAnswer(answer: string, codecs: readonly CodecName[] = CODEC_NAMES): SdpResult<NegotiatedMedia> {
  const sdp = safeParse(answer);
  if (!sdp) return { ok: false, error: "malformed SDP" };
  const m = sdp.media.find(isAudioRtp);
  if (!m) return { ok: false, error: "no audio stream" };
  const remoteAddress = m.connection?.ip ?? sdp.connection?.ip;
  if (!remoteAddress) return { ok: false, error: "no connection address" };
  const { codecs: offered, te } = offeredFormats(m);
  const chosen = offered.find((c) => codecs.includes(c.codec));
  if (!chosen) return { ok: false, error: "no common codec" };
  const theirs: Direction = m.direction ?? sdp.direction ?? "sendrecv";
  return { ok: true, value: agreed(chosen, te, remoteAddress, m.port, ANSWER_DIRECTION[theirs]) };
}
