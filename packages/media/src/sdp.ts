/**
 * SDP offer/answer (RFC 3264) for audio calls, with sdp-transform doing the text.
 *
 * We answer one audio stream with one codec plus telephone-event when offered; every
 * other m-line is refused with port 0 in its place. Expected failures are values: the
 * app answers 488 to any of them.
 *
 * Which codec: the one the caller already uses when it is still offered (a re-INVITE
 * does not switch codecs); else Opus whenever it is offered (and libopus is here);
 * else the first of the offerer's list that we support. Opus wins over the offerer's
 * order because it is the best audio any phone offers us (wideband, and its loss
 * concealment is far better than repeating G.711 frames), and a phone lists Opus only
 * when it is built and set up for it; a FreeSWITCH set up for wideband makes the same
 * choice (`OPUS,G722,PCMU,PCMA`). Its cost is CPU (BENCHMARKS.md). Phones that do not
 * offer Opus get what they got before.
 *
 * Opus (RFC 7587) has a dynamic payload type: the answer uses the offer's, with the
 * 48000 Hz clock and `/2` the RFC requires, and tells the phone what we use of it
 * (`OPUS_FMTP`).
 */
import { parse, write } from "sdp-transform";
import type { MediaDescription, SessionDescription } from "sdp-transform";
import {
  availableCodecs,
  CODEC_CLOCK_RATES,
  CODEC_NAMES,
  type CodecName,
  CODEC_OPUS,
  CODEC_PAYLOAD_TYPES,
  codecId,
} from "./codec.ts";

/**
 * The fmtp of our Opus answers and offers (RFC 7587 section 6.1): we mix at 16 kHz mono,
 * so we ask for at most wideband (`maxplaybackrate=16000`, the phone's encoder spends no
 * bits above 8 kHz) and mono (`stereo=0`), and say we send the same
 * (`sprop-maxcapturerate=16000`, `sprop-stereo=0`). `useinbandfec=0`: a lost packet is
 * concealed by the decoder's PLC and we do not read the next packet's FEC copy from the
 * jitter buffer, so FEC bits would buy nothing here. `ptime` 20 is on the m-line.
 */
export const OPUS_FMTP = "maxplaybackrate=16000;sprop-maxcapturerate=16000;stereo=0;sprop-stereo=0;useinbandfec=0";

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
  /** RTP clock rate of the codec (8000, G.722 included; 48000 for Opus). */
  clockRate: number;
  /** Payload type of telephone-event, or null when the peer did not offer it. */
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
  /** Codecs we accept, in no particular order (default `availableCodecs()`). */
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

/** An m-line's offered codecs and telephone-event payload types (by clock rate). */
export interface Offered {
  codecs: { pt: number; codec: CodecName }[];
  /** telephone-event PT per clock rate offered (8000, 48000, ...), first of each. */
  te: Map<number, number>;
}

/** @internal Reads an m-line's offered codecs and telephone-event PTs (sdp-webrtc.ts reads them too). */
export function offeredFormats(m: MediaDescription): Offered {
  const codecs: { pt: number; codec: CodecName }[] = [];
  const te = new Map<number, number>();
  for (const pt of payloadList(m)) {
    const map = (m.rtp ?? []).find((r) => r.payload === pt);
    if (map) {
      const name = map.codec.toUpperCase();
      const rate = map.rate ?? 8000;
      const channels = map.encoding === undefined ? 1 : Number(map.encoding);
      if (name === "TELEPHONE-EVENT") {
        if (!te.has(rate)) te.set(rate, pt);
        continue;
      }
      // RFC 7587: always opus/48000/2 (the /2 says nothing of what is sent; a missing /2 is tolerated).
      if (name === "OPUS") {
        if (rate === 48000 && (channels === 1 || channels === 2)) codecs.push({ pt, codec: "OPUS" });
        continue;
      }
      const id = codecId(name);
      if (id >= 0 && id !== CODEC_OPUS && rate === 8000 && channels === 1)
        codecs.push({ pt, codec: CODEC_NAMES[id] as CodecName });
    } else if (STATIC_PT[pt]) {
      codecs.push({ pt, codec: STATIC_PT[pt] as CodecName });
    }
  }
  return { codecs, te };
}

/**
 * The telephone-event PT to use with a codec: the one at the codec's clock rate (RFC 4733
 * wants them equal), else the one at 8000 Hz that phones offer beside any codec.
 */
export function eventFor(offered: Offered, codec: CodecName): { pt: number; rate: number } | null {
  const rate = CODEC_CLOCK_RATES[codecId(codec)] as number;
  const same = offered.te.get(rate);
  if (same !== undefined) return { pt: same, rate };
  const narrow = offered.te.get(8000);
  return narrow === undefined ? null : { pt: narrow, rate: 8000 };
}

function eventFmtp(m: MediaDescription, pt: number): string | null {
  return (m.fmtp ?? []).find((f) => f.payload === pt)?.config ?? null;
}

/** The rtpmap (and fmtp) line of a codec at a payload type. */
export function codecFormat(pt: number, codec: CodecName): { rtp: MediaDescription["rtp"][number]; fmtp: string | null } {
  if (codec === "OPUS") return { rtp: { payload: pt, codec: "opus", rate: 48000, encoding: 2 }, fmtp: OPUS_FMTP };
  return { rtp: { payload: pt, codec, rate: 8000 }, fmtp: null };
}

function audioMedia(
  port: number,
  pt: number,
  codec: CodecName,
  te: { pt: number; rate: number } | null,
  teFmtp: string | null,
  direction: Direction,
): MediaDescription {
  const format = codecFormat(pt, codec);
  const rtp: MediaDescription["rtp"] = [format.rtp];
  const fmtp: MediaDescription["fmtp"] = format.fmtp === null ? [] : [{ payload: pt, config: format.fmtp }];
  if (te !== null) {
    rtp.push({ payload: te.pt, codec: "telephone-event", rate: te.rate });
    fmtp.push({ payload: te.pt, config: teFmtp ?? "0-16" });
  }
  return {
    type: "audio",
    port,
    protocol: "RTP/AVP",
    payloads: te === null ? String(pt) : `${pt} ${te.pt}`,
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

/** What an answer we give and an answer we read agree on alike. */
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
    clockRate: CODEC_CLOCK_RATES[codecId(chosen.codec)] as number,
    telephoneEventPt: te,
    remoteAddress,
    remotePort,
    direction,
  };
}

/**
 * Answers an SDP offer. Picks `keepCodec` when it is still offered (a re-INVITE does
 * not switch codecs), else Opus when offered, else the first codec of the offer's
 * m-line that we support; telephone-event with the offer's payload type (at the
 * codec's clock rate when offered, else at 8000 Hz), and the answer direction
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
  const accepted = usableCodecs(local.codecs);
  const offered = offeredFormats(m);
  const usable = offered.codecs.filter((c) => accepted.includes(c.codec));
  const chosen = usable.find((c) => c.codec === keepCodec) ?? usable.find((c) => c.codec === "OPUS") ?? usable[0];
  if (!chosen) return { ok: false, error: "no common codec" };
  const te = eventFor(offered, chosen.codec);
  const offeredDirection: Direction = m.direction ?? sdp.direction ?? "sendrecv";
  let direction = ANSWER_DIRECTION[offeredDirection];
  if ((remoteAddress === "0.0.0.0" || remoteAddress === "::") && direction === "sendrecv") direction = "recvonly";

  const media: MediaDescription[] = sdp.media.map((other, i) => {
    if (i === index)
      return audioMedia(local.port, chosen.pt, chosen.codec, te, te === null ? null : eventFmtp(m, te.pt), direction);
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
  return {
    ok: true,
    value: { answer: session(local, media), ...agreed(chosen, te?.pt ?? null, remoteAddress, m.port, direction) },
  };
}

/** The codecs asked for, less Opus when libopus is missing (default: all we can use). */
export function usableCodecs(codecs: readonly CodecName[] | undefined): readonly CodecName[] {
  const available = availableCodecs();
  return codecs === undefined ? available : codecs.filter((c) => available.includes(c));
}

/** Options of `buildOffer`. */
export interface OfferOptions extends LocalMedia {
  /** Payload type for telephone-event (default 101), or null for none. */
  telephoneEventPt?: number | null;
  /** Our direction (default "sendrecv"; "sendonly" for a recording leg). */
  direction?: Direction;
  /** Payload type for Opus (default 111); keep the phone's when moving its call. */
  opusPayloadType?: number;
}

/**
 * Builds an SDP offer for an outgoing call (e.g. the remote-recording leg): one audio
 * stream offering `codecs` in that order with their static payload types (Opus with
 * `opusPayloadType`; left out when libopus is missing), plus telephone-event/8000.
 * @example const sdp = buildOffer({ address: "127.0.0.1", port: 20002, direction: "sendonly" });
 */
export function buildOffer(options: OfferOptions): string {
  const codecs = usableCodecs(options.codecs);
  const te = options.telephoneEventPt === undefined ? 101 : options.telephoneEventPt;
  const rtp: MediaDescription["rtp"] = [];
  const fmtp: MediaDescription["fmtp"] = [];
  for (const c of codecs) {
    const pt = c === "OPUS" ? (options.opusPayloadType ?? 111) : (CODEC_PAYLOAD_TYPES[codecId(c)] as number);
    const format = codecFormat(pt, c);
    rtp.push(format.rtp);
    if (format.fmtp !== null) fmtp.push({ payload: pt, config: format.fmtp });
  }
  const pts = rtp.map((r) => r.payload);
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
export function parseAnswer(answer: string, codecs?: readonly CodecName[]): SdpResult<NegotiatedMedia> {
  const sdp = safeParse(answer);
  if (!sdp) return { ok: false, error: "malformed SDP" };
  const m = sdp.media.find(isAudioRtp);
  if (!m) return { ok: false, error: "no audio stream" };
  const remoteAddress = m.connection?.ip ?? sdp.connection?.ip;
  if (!remoteAddress) return { ok: false, error: "no connection address" };
  const offered = offeredFormats(m);
  const accepted = usableCodecs(codecs);
  const chosen = offered.codecs.find((c) => accepted.includes(c.codec));
  if (!chosen) return { ok: false, error: "no common codec" };
  const theirs: Direction = m.direction ?? sdp.direction ?? "sendrecv";
  const te = eventFor(offered, chosen.codec)?.pt ?? null;
  return { ok: true, value: agreed(chosen, te, remoteAddress, m.port, ANSWER_DIRECTION[theirs]) };
}
