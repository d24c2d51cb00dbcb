/**
 * SDP offer/answer for a browser's WebRTC audio (RFC 8829 as a browser speaks it):
 * one audio m-line over `UDP/TLS/RTP/SAVPF` with ICE credentials, a DTLS fingerprint
 * and rtcp-mux. We answer as an ICE-lite endpoint (RFC 8445 2.5) with one host
 * candidate, DTLS role passive (the browser is the DTLS client, RFC 5763), and the
 * same codec choice as for a phone (`negotiateAnswer`'s rules), limited to the codecs
 * `codecs` names: WEBRTC_CODECS by default.
 *
 * Everything the media leg needs (the browser's ICE username fragment and password,
 * its certificate fingerprints) comes back with the answer. Failures are values, like
 * `negotiateAnswer`'s: the app answers 488.
 */
import { write } from "sdp-transform";
import type { MediaDescription, SessionDescription } from "sdp-transform";
import { CODEC_CLOCK_RATES, type CodecName, codecId } from "./codec.ts";
import {
  codecFormat,
  type Direction,
  eventFor,
  type NegotiatedMedia,
  offeredFormats,
  payloadList,
  safeParse,
  usableCodecs,
} from "./sdp.ts";

/**
 * Codecs a browser leg may use, in no particular order: the browser's order decides, and
 * browsers list Opus first, so they get Opus (wideband, 16 kHz into the mix) when libopus
 * is here, else PCMU or PCMA (the two RFC 7874 makes mandatory). G.722 is left out on
 * purpose: browsers offer it, but nothing tests it there.
 */
export const WEBRTC_CODECS: readonly CodecName[] = ["OPUS", "PCMU", "PCMA"];

/** Why a WebRTC offer cannot be answered (all lead to 488). */
export const WEBRTC_SDP_ERRORS = [
  "malformed SDP",
  "no audio stream",
  "no common codec",
  "no ICE credentials",
  "no DTLS fingerprint",
  "no rtcp-mux",
  "bad DTLS setup",
] as const;
export type WebRtcSdpError = (typeof WEBRTC_SDP_ERRORS)[number];

/** A certificate fingerprint from SDP (RFC 8122): algorithm lower case, hex pairs upper case. */
export interface SdpFingerprint {
  algorithm: string;
  value: string;
}

/** Our side of a browser leg. */
export interface WebRtcLocal {
  /** Address of our host candidate (the RTP socket's, SIP_HOST). */
  address: string;
  /** Port of the call's RTP socket. */
  port: number;
  /** Our ICE username fragment and password (RFC 8445: 4+ and 22+ characters of ice-char). */
  iceUfrag: string;
  icePwd: string;
  /** Our DTLS certificate's fingerprint. */
  fingerprint: SdpFingerprint;
  sessionId?: number;
  sessionVersion?: number;
  /** Codecs we accept; default WEBRTC_CODECS. */
  codecs?: readonly CodecName[];
  /** The SSRC we send with, announced (a=ssrc) so the browser files our stream under this m-line. */
  ssrc?: number;
}

/** The answer, what it agreed on, and what the media leg needs of the browser. */
export interface WebRtcAnswer extends NegotiatedMedia {
  answer: string;
  remoteIceUfrag: string;
  remoteIcePwd: string;
  remoteFingerprints: SdpFingerprint[];
}

const ANSWER_DIRECTION: Record<Direction, Direction> = {
  sendrecv: "sendrecv",
  sendonly: "recvonly",
  recvonly: "sendonly",
  inactive: "inactive",
};

/** ICE credentials' characters (RFC 8839 ice-char) and lengths we accept. */
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;

/** Whether an SDP offer is a WebRTC one (DTLS-SRTP audio), so the call needs a WebRTC leg. */
export function isWebRtcOffer(sdp: string): boolean {
  const s = safeParse(sdp);
  return s?.media.some((m) => m.type === "audio" && m.port > 0 && isDtlsSrtp(m.protocol)) ?? false;
}

function isDtlsSrtp(protocol: string): boolean {
  return protocol === "UDP/TLS/RTP/SAVPF" || protocol === "UDP/TLS/RTP/SAVP";
}

/**
 * Answers a browser's offer. Its first `UDP/TLS/RTP/SAVPF` audio m-line is answered;
 * other m-lines are refused with port 0 (and left out of BUNDLE).
 * @example
 * const r = negotiateWebRtcAnswer(offer, { address: "127.0.0.1", port: 20000, iceUfrag, icePwd, fingerprint });
 * if (!r.ok) return reject(488);
 */
export function negotiateWebRtcAnswer(offer: string, local: WebRtcLocal): WebRtcSdpResult {
  const sdp = safeParse(offer);
  if (!sdp) return fail("malformed SDP");
  const index = sdp.media.findIndex((m) => m.type === "audio" && m.port > 0 && isDtlsSrtp(m.protocol));
  if (index < 0) return fail("no audio stream");
  const m = sdp.media[index] as MediaDescription;
  const ufrag = m.iceUfrag ?? sdp.iceUfrag;
  const pwd = m.icePwd ?? sdp.icePwd;
  if (!ufrag || !pwd || ufrag.length > 256 || pwd.length > 256 || !ICE_CHARS.test(ufrag) || !ICE_CHARS.test(pwd))
    return fail("no ICE credentials");
  const fingerprints = [m.fingerprint, sdp.fingerprint]
    .filter((f): f is { type: string; hash: string } => !!f && typeof f.hash === "string")
    .map((f) => ({ algorithm: f.type.toLowerCase(), value: f.hash.toUpperCase() }));
  if (fingerprints.length === 0) return fail("no DTLS fingerprint");
  if (m.rtcpMux === undefined) return fail("no rtcp-mux");
  const setup = m.setup ?? (sdp as { setup?: string }).setup ?? "actpass";
  // We are passive: the browser must be able to be the DTLS client.
  if (setup !== "actpass" && setup !== "active") return fail("bad DTLS setup");
  const accepted = usableCodecs(local.codecs ?? WEBRTC_CODECS);
  const offered = offeredFormats(m);
  const chosen = offered.codecs.find((c) => accepted.includes(c.codec));
  if (!chosen) return fail("no common codec");
  // Browsers offer telephone-event at 8000 and 48000: the one at the codec's clock (RFC 4733).
  const event = eventFor(offered, chosen.codec);
  const te = event?.pt ?? null;
  const teFmtp = te === null ? null : ((m.fmtp ?? []).find((f) => f.payload === te)?.config ?? null);
  const direction = ANSWER_DIRECTION[m.direction ?? sdp.direction ?? "sendrecv"];
  const mid = m.mid !== undefined ? String(m.mid) : undefined;

  const format = codecFormat(chosen.pt, chosen.codec);
  const rtp: MediaDescription["rtp"] = [format.rtp];
  const fmtp: MediaDescription["fmtp"] = format.fmtp === null ? [] : [{ payload: chosen.pt, config: format.fmtp }];
  if (event !== null && te !== null) {
    rtp.push({ payload: te, codec: "telephone-event", rate: event.rate });
    fmtp.push({ payload: te, config: teFmtp ?? "0-16" });
  }
  const audio: MediaDescription = {
    type: "audio",
    port: local.port,
    protocol: m.protocol,
    payloads: te === null ? String(chosen.pt) : `${chosen.pt} ${te}`,
    connection: { version: local.address.includes(":") ? 6 : 4, ip: local.address },
    rtp,
    fmtp,
    ptime: 20,
    direction,
    ...(mid !== undefined ? { mid } : {}),
    iceUfrag: local.iceUfrag,
    icePwd: local.icePwd,
    fingerprint: { type: local.fingerprint.algorithm, hash: local.fingerprint.value },
    setup: "passive",
    rtcpMux: "rtcp-mux",
    candidates: [
      {
        foundation: "1",
        component: 1,
        transport: "udp",
        // RFC 8445 5.1.2.1 with type preference 126 (host), local preference 65535.
        priority: 2130706431,
        ip: local.address,
        port: local.port,
        type: "host",
      },
    ],
    endOfCandidates: "end-of-candidates",
    ...(local.ssrc !== undefined ? { ssrcs: [{ id: local.ssrc >>> 0, attribute: "cname", value: "conf-mixer" }] } : {}),
  };
  const media: MediaDescription[] = sdp.media.map((other, i) => {
    if (i === index) return audio;
    const first = payloadList(other)[0];
    return {
      type: other.type,
      port: 0,
      protocol: other.protocol,
      payloads: first !== undefined ? String(first) : "0",
      rtp: [],
      fmtp: [],
      ...(other.mid !== undefined ? { mid: String(other.mid) } : {}),
    };
  });
  const desc: SessionDescription = {
    version: 0,
    origin: {
      username: "-",
      sessionId: local.sessionId ?? Math.floor(Math.random() * 2 ** 31) + 1,
      sessionVersion: local.sessionVersion ?? 1,
      netType: "IN",
      ipVer: local.address.includes(":") ? 6 : 4,
      address: local.address,
    },
    name: "-",
    timing: { start: 0, stop: 0 },
    icelite: "ice-lite",
    ...(mid !== undefined ? { groups: [{ type: "BUNDLE", mids: mid }] } : {}),
    media,
  };
  return {
    ok: true,
    value: {
      answer: write(desc),
      codec: chosen.codec,
      payloadType: chosen.pt,
      clockRate: CODEC_CLOCK_RATES[codecId(chosen.codec)] as number,
      telephoneEventPt: te,
      // Where media goes is ICE's business (the browser's checks), not c=.
      remoteAddress: "",
      remotePort: 0,
      direction,
      remoteIceUfrag: ufrag,
      remoteIcePwd: pwd,
      remoteFingerprints: fingerprints,
    },
  };
}

/** The answer, or why there is none. */
export type WebRtcSdpResult = { ok: true; value: WebRtcAnswer } | { ok: false; error: WebRtcSdpError };

function fail(error: WebRtcSdpError): WebRtcSdpResult {
  return { ok: false, error };
}
