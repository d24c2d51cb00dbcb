import { parse, write } from "sdp-transform";

/** Payload type we offer for RFC 4733 telephone-event. */
export const TELEPHONE_EVENT_PT = 101;

/** What the generator needs from the answer to send and receive media. */
export interface SdpAnswer {
  /** Where to send RTP (connection address of the audio m-line). */
  address: string;
  port: number;
  /** Audio payload type chosen by the answerer (first listed of PCMU 0 / PCMA 8). */
  audioPt: number;
  /** telephone-event payload type of the answer, or null when it refused events. */
  eventPt: number | null;
  ptime: number;
}

/** Build our offer: PCMU, PCMA and telephone-event/8000 (0-16) on `port`. */
export function buildOffer(opts: { address: string; port: number; sessionId: number }): string {
  return writeAudioSdp({
    ...opts,
    sessionVersion: 1,
    payloads: `0 8 ${TELEPHONE_EVENT_PT}`,
    rtp: [
      { payload: 0, codec: "PCMU", rate: 8000 },
      { payload: 8, codec: "PCMA", rate: 8000 },
      { payload: TELEPHONE_EVENT_PT, codec: "telephone-event", rate: 8000 },
    ],
    fmtp: [{ payload: TELEPHONE_EVENT_PT, config: "0-16" }],
    direction: "sendrecv",
  });
}

/** One-audio-line session description; offers and answers differ only in the m-line's codecs and direction. */
function writeAudioSdp(opts: {
  address: string;
  port: number;
  sessionId: number;
  sessionVersion: number;
  payloads: string;
  rtp: { payload: number; codec: string; rate: number }[];
  fmtp: { payload: number; config: string }[];
  direction: Direction;
}): string {
  return write({
    version: 0,
    origin: {
      username: "loadgen",
      sessionId: opts.sessionId,
      sessionVersion: opts.sessionVersion,
      netType: "IN",
      ipVer: 4,
      address: opts.address,
    },
    name: "loadgen",
    connection: { version: 4, ip: opts.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: "audio",
        port: opts.port,
        protocol: "RTP/AVP",
        payloads: opts.payloads,
        rtp: opts.rtp,
        fmtp: opts.fmtp,
        ptime: 20,
        direction: opts.direction,
      },
    ],
  });
}

export type SdpParseResult = { ok: true; value: SdpAnswer } | { ok: false; error: string };

type Session = ReturnType<typeof parse>;
type AudioRead =
  | { ok: true; value: { session: Session; audio: Session["media"][number]; address: string; payloads: number[] } }
  | { ok: false; error: string };

/** The first active audio m-line, its connection address and its payload types as listed. */
function readAudio(sdp: string): AudioRead {
  let session: Session;
  try {
    session = parse(sdp);
  } catch (e) {
    return { ok: false, error: `unparsable SDP: ${String(e)}` };
  }
  const audio = session.media?.find((m) => m.type === "audio" && m.port > 0);
  if (!audio) return { ok: false, error: "no active audio m-line" };
  const address = audio.connection?.ip ?? session.connection?.ip;
  if (!address) return { ok: false, error: "no connection address" };
  const payloads = String(audio.payloads ?? "")
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map(Number);
  return { ok: true, value: { session, audio, address, payloads } };
}

/** Read the answer's audio destination and payload types. */
export function parseAnswer(sdp: string): SdpParseResult {
  const read = readAudio(sdp);
  if (!read.ok) return read;
  const { audio, address, payloads: pts } = read.value;
  const audioPt = pts.find((pt) => pt === 0 || pt === 8);
  if (audioPt === undefined) return { ok: false, error: `no PCMU/PCMA in answer (${pts.join(" ")})` };
  const ev = audio.rtp.find((r) => r.codec.toLowerCase() === "telephone-event");
  return {
    ok: true,
    value: {
      address,
      port: audio.port,
      audioPt,
      eventPt: ev && pts.includes(ev.payload) ? ev.payload : null,
      ptime: audio.ptime ?? 20,
    },
  };
}

/** Media directions of an SDP m-line (RFC 3264 6.1). */
export const DIRECTIONS = ["sendrecv", "sendonly", "recvonly", "inactive"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** What the generator reads from an offer the far end sends in a re-INVITE. */
export interface SdpOffer {
  /** Where the far end wants RTP (connection address and port of the audio m-line). */
  address: string;
  port: number;
  /** Payload types of the audio m-line, in the offer's order. */
  payloads: number[];
  /** telephone-event payload type offered, or null. */
  eventPt: number | null;
  direction: Direction;
}

export type SdpOfferResult = { ok: true; value: SdpOffer } | { ok: false; error: string };

/** Read a (re-)offer's audio destination, payload types and direction. */
export function parseOffer(sdp: string): SdpOfferResult {
  const read = readAudio(sdp);
  if (!read.ok) return read;
  const { session, audio, address } = read.value;
  const payloads = read.value.payloads.filter((pt) => Number.isInteger(pt) && pt >= 0 && pt < 128);
  const ev = (audio.rtp ?? []).find((r) => r.codec.toLowerCase() === "telephone-event" && r.rate === 8000);
  const dir = (audio.direction ?? (session as { direction?: string }).direction ?? "sendrecv") as Direction;
  return {
    ok: true,
    value: {
      address,
      port: audio.port,
      payloads,
      eventPt: ev && payloads.includes(ev.payload) ? ev.payload : null,
      direction: DIRECTIONS.includes(dir) ? dir : "sendrecv",
    },
  };
}

/** Our direction in an answer to `offered` (RFC 3264 6.1: sendonly is answered recvonly and so on). */
export function answerDirection(offered: Direction): Direction {
  if (offered === "sendonly") return "recvonly";
  if (offered === "recvonly") return "sendonly";
  return offered;
}

/**
 * Build an answer with one audio codec (and telephone-event when offered) on `port`.
 * `sessionVersion` must grow with every SDP we send in the session (RFC 3264 8).
 *
 * @example buildAnswer({ address: "127.0.0.1", port: 40000, sessionId: 1, sessionVersion: 2, audioPt: 0, eventPt: 101, direction: "sendrecv" })
 */
export function buildAnswer(opts: {
  address: string;
  port: number;
  sessionId: number;
  sessionVersion: number;
  audioPt: 0 | 8;
  eventPt: number | null;
  direction: Direction;
}): string {
  const rtp: { payload: number; codec: string; rate: number }[] = [
    { payload: opts.audioPt, codec: opts.audioPt === 8 ? "PCMA" : "PCMU", rate: 8000 },
  ];
  const fmtp: { payload: number; config: string }[] = [];
  if (opts.eventPt !== null) {
    rtp.push({ payload: opts.eventPt, codec: "telephone-event", rate: 8000 });
    fmtp.push({ payload: opts.eventPt, config: "0-16" });
  }
  return writeAudioSdp({
    address: opts.address,
    port: opts.port,
    sessionId: opts.sessionId,
    sessionVersion: opts.sessionVersion,
    payloads: opts.eventPt !== null ? `${opts.audioPt} ${opts.eventPt}` : String(opts.audioPt),
    rtp,
    fmtp,
    direction: opts.direction,
  });
}
