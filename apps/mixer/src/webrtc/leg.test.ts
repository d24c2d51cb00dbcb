/**
 * A WebRTC leg against a real peer: werift's RTCPeerConnection plays the browser (full
 * ICE, DTLS client, SRTP) over loopback UDP. It connects, both ways carry RTP, and a
 * peer whose certificate is not the one its SDP names gets no media.
 */
import { afterEach, expect, test } from "bun:test";
import { negotiateWebRtcAnswer } from "@conf/media";
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from "werift";
import { RtpPortPool } from "../rtp-socket.ts";
import { createDtlsIdentity, type DtlsIdentity, iceCredentials, WebRtcLeg } from "./leg.ts";
import { openWebRtcLeg } from "./media.ts";

const HOST = "127.0.0.1";
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

let identity: DtlsIdentity | null = null;
async function node(): Promise<DtlsIdentity> {
  identity ??= await createDtlsIdentity();
  return identity;
}

function browser(): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/PCMU", clockRate: 8000, channels: 1, payloadType: 0 })],
    },
    iceInterfaceAddresses: { udp4: HOST },
    iceAdditionalHostAddresses: [HOST],
    iceUseIpv6: false,
  });
  closers.push(() => pc.close());
  return pc;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(10);
  }
}

async function connect(opts: { fingerprintOf?: (real: string) => string } = {}) {
  const pc = browser();
  const transceiver = pc.addTransceiver("audio", { direction: "sendrecv" });
  await pc.setLocalDescription(await pc.createOffer());
  await until(() => pc.iceGatheringState === "complete", 5000, "gathering");
  let offer = pc.localDescription?.sdp ?? "";
  if (opts.fingerprintOf)
    offer = offer.replace(/a=fingerprint:sha-256 (\S+)/, (_m, fp) => `a=fingerprint:sha-256 ${opts.fingerprintOf?.(fp)}`);
  const ports = new RtpPortPool(41000, 41998);
  const received: Uint8Array[] = [];
  const failures: string[] = [];
  const id = await node();
  const local = iceCredentials();
  const first = negotiateWebRtcAnswer(offer, {
    address: HOST,
    port: 0,
    iceUfrag: local.ufrag,
    icePwd: local.pwd,
    fingerprint: id.fingerprint,
  });
  if (!first.ok) throw new Error(first.error);
  const leg = await openWebRtcLeg(ports, HOST, {
    identity: id,
    localUfrag: local.ufrag,
    localPwd: local.pwd,
    remoteUfrag: first.value.remoteIceUfrag,
    remoteFingerprints: first.value.remoteFingerprints,
    handshakeTimeoutMs: 5000,
    onPacket: (buf) => received.push(new Uint8Array(buf)),
    onFailed: (why) => failures.push(why),
  });
  closers.push(() => leg.close());
  const answer = negotiateWebRtcAnswer(offer, {
    address: HOST,
    port: leg.port,
    iceUfrag: local.ufrag,
    icePwd: local.pwd,
    fingerprint: id.fingerprint,
    ssrc: 0x1234,
  });
  if (!answer.ok) throw new Error(answer.error);
  await pc.setRemoteDescription({ type: "answer", sdp: answer.value.answer });
  return { pc, transceiver, leg, received, failures, answer: answer.value };
}

function rtp(seq: number, payload: number): Buffer {
  const p = new RtpPacket(
    new RtpHeader({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x1234, marker: false }),
    Buffer.alloc(160, payload),
  );
  return p.serialize();
}

test("a browser-like peer connects over ICE-lite and DTLS-SRTP, and RTP flows both ways decrypted", async () => {
  const { pc, transceiver, leg, received, failures, answer } = await connect();
  expect(answer.codec).toBe("PCMU");
  await until(() => leg.state === "connected", 8000, "leg connected");
  expect(leg.counts.stunRequests).toBeGreaterThan(0);
  await until(() => pc.connectionState === "connected", 8000, "peer connected");

  // Browser -> leg: what the call's handler sees is the plain RTP the peer sent.
  for (let i = 0; i < 10; i++) {
    await transceiver.sender.sendRtp(rtp(100 + i, 0x55));
    await Bun.sleep(5);
  }
  await until(() => received.length >= 10, 3000, "RTP at the leg");
  const first = received[0] as Uint8Array;
  expect(first[0]).toBe(0x80);
  expect(first.length).toBe(12 + 160);
  expect(first[12]).toBe(0x55);
  expect(leg.latch.latched).toBe(true);

  // Leg -> browser: the call's plain packets arrive decrypted at the peer.
  const got: RtpPacket[] = [];
  transceiver.receiver.track.onReceiveRtp.subscribe((p) => got.push(p));
  for (let i = 0; i < 10; i++) leg.send(new Uint8Array(rtp(500 + i, 0x2a)), leg.latch.port, leg.latch.address);
  await until(() => got.length >= 5, 3000, "RTP at the peer");
  expect(got[0]?.payload[0]).toBe(0x2a);
  expect(got[0]?.header.payloadType).toBe(0);
  expect(leg.counts.srtpOut).toBe(10);
  expect(failures).toEqual([]);
}, 20_000);

test("a peer whose certificate is not the one its SDP names gets no media: the leg fails", async () => {
  const { leg, failures } = await connect({ fingerprintOf: (fp) => fp.replace(/^../, (h) => (h === "00" ? "01" : "00")) });
  await until(() => failures.length > 0, 8000, "failure");
  expect(failures[0]).toContain("fingerprint");
  expect(leg.state).toBe("failed");
  leg.send(new Uint8Array(rtp(1, 1)), 1, HOST);
  expect(leg.counts.srtpOut).toBe(0);
}, 20_000);

test("STUN without our password, and DTLS or SRTP from a source ICE did not validate, are dropped", async () => {
  const ports = new RtpPortPool(41000, 41998);
  const id = await node();
  const failures: string[] = [];
  const leg = await openWebRtcLeg(ports, HOST, {
    identity: id,
    localUfrag: "abcd",
    localPwd: "0123456789abcdefghijkl",
    remoteUfrag: "efgh",
    remoteFingerprints: [],
    handshakeTimeoutMs: 300,
    onPacket: () => {
      throw new Error("no packet may reach the call");
    },
    onFailed: (why) => failures.push(why),
  });
  closers.push(() => leg.close());
  const sock = await Bun.udpSocket({ hostname: HOST, port: 0 });
  closers.push(() => sock.close());
  // A binding request whose integrity is keyed with another password.
  const { Message, methods, classes } = await import("werift");
  const bad = new Message(methods.BINDING, classes.REQUEST)
    .setAttribute("USERNAME", "abcd:efgh")
    .addMessageIntegrity(Buffer.from("not-the-password-at-all"))
    .addFingerprint();
  sock.send(bad.bytes, leg.port, HOST);
  sock.send(new Uint8Array([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), leg.port, HOST); // DTLS-looking
  sock.send(rtp(1, 1), leg.port, HOST);
  await until(() => leg.counts.dropped >= 3, 2000, "drops");
  expect(leg.counts.stunRequests).toBe(0);
  expect(leg.state).toBe("checking");
  // Nothing completed: the handshake timer fails the leg.
  await until(() => failures.length > 0, 2000, "timeout");
  expect(leg.state).toBe("failed");
  expect(leg).toBeInstanceOf(WebRtcLeg);
});
