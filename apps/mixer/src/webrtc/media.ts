/**
 * What admission needs to answer a browser's offer: a WebRTC leg on a port of the RTP
 * range and the SDP answer naming it, or why not (488 or 503).
 */
import { negotiateWebRtcAnswer, type RtpLatchOptions, type WebRtcAnswer } from "@conf/media";
import type { RtpPortPool } from "../rtp-socket.ts";
import { type DtlsIdentity, iceCredentials, WebRtcLeg, type WebRtcLegOptions } from "./leg.ts";

/** Opens a leg on a free port of the pool's range (throws when none is free). */
export async function openWebRtcLeg(ports: RtpPortPool, host: string, opts: WebRtcLegOptions): Promise<WebRtcLeg> {
  let leg: WebRtcLeg | null = null;
  const raw = await ports.openRaw(host, (buf, port, address) => leg?.receive(buf, port, address));
  leg = new WebRtcLeg(raw.socket, raw.port, raw.release, opts);
  return leg;
}

/** A node's WebRTC settings. */
export interface WebRtcSettings {
  identity: DtlsIdentity;
  handshakeTimeoutMs: number;
  latch?: RtpLatchOptions;
}

export type WebRtcMedia =
  | { ok: true; leg: WebRtcLeg; answer: WebRtcAnswer; ssrc: number }
  | { ok: false; status: 488 | 503; reason: string };

/**
 * Answers a browser's offer: checks it, opens the leg, writes the answer.
 * @example
 * const m = await answerWebRtc(ports, sipHost, settings, invite.sdp, sessionId, (buf) => call?.receive(buf));
 * if (!m.ok) return invite.reject(m.status);
 */
export async function answerWebRtc(
  ports: RtpPortPool,
  host: string,
  settings: WebRtcSettings,
  offer: string,
  sessionId: number,
  onPacket: WebRtcLegOptions["onPacket"],
  onFailed: (reason: string) => void,
): Promise<WebRtcMedia> {
  const local = iceCredentials();
  const ssrc = crypto.getRandomValues(new Uint32Array(1))[0] as number;
  const common = {
    address: host,
    iceUfrag: local.ufrag,
    icePwd: local.pwd,
    fingerprint: settings.identity.fingerprint,
    sessionId,
    ssrc,
  };
  const checked = negotiateWebRtcAnswer(offer, { ...common, port: 0 });
  if (!checked.ok) return { ok: false, status: 488, reason: checked.error };
  let leg: WebRtcLeg;
  try {
    leg = await openWebRtcLeg(ports, host, {
      identity: settings.identity,
      localUfrag: local.ufrag,
      localPwd: local.pwd,
      remoteUfrag: checked.value.remoteIceUfrag,
      remoteFingerprints: checked.value.remoteFingerprints,
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      latch: settings.latch,
      onPacket,
      onFailed,
    });
  } catch (err) {
    return { ok: false, status: 503, reason: String(err) };
  }
  const r = negotiateWebRtcAnswer(offer, { ...common, port: leg.port });
  if (!r.ok) {
    leg.close();
    return { ok: false, status: 488, reason: r.error };
  }
  return { ok: true, leg, answer: r.value, ssrc };
}
