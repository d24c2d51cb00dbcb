/**
 * A browser's media leg on one UDP socket of the RTP range: ICE-lite (we answer the
 * browser's STUN binding requests, RFC 8445 2.5, and send nothing of our own), DTLS-SRTP
 * with us as the DTLS server (RFC 5763/5764), RTP and RTCP on the one port (RFC 5761).
 * Datagrams are told apart by their first byte (RFC 7983): 0-3 STUN, 20-63 DTLS,
 * 128-191 RTP/RTCP. To the rest of the mixer it is an `RtpSocket` like any other:
 * the call's handler sees decrypted RTP, and what the call sends is encrypted here.
 *
 * The library: werift (pure TypeScript, runs on Bun as it is) does the DTLS handshake
 * and the SRTP transforms; its SRTP uses node:crypto's AES-CTR and HMAC-SHA1 (or
 * AES-GCM), and allocates a few Buffers per packet (see BENCHMARKS.md for what a browser
 * leg costs against a phone's). node-datachannel (libdatachannel) would do the crypto in
 * C++, but it owns its sockets and ICE agent: its media would not pass through the
 * mixer's own RTP sockets and latching, and it needs a native build per platform.
 *
 * Who may send what: a STUN request counts only with our ICE password's
 * MESSAGE-INTEGRITY and the username the SDP agreed; DTLS and SRTP are taken only from
 * sources such a request came from; the browser's certificate must match the
 * fingerprint of its SDP, else the leg fails. A leg whose handshake has not finished in
 * `handshakeTimeoutMs` fails.
 */
import { X509Certificate, createHash } from "node:crypto";
import type { udp } from "bun";
import { RtpLatch, type RtpLatchOptions, type SdpFingerprint } from "@conf/media";
import {
  CipherContext,
  classes,
  DtlsServer,
  HashAlgorithm,
  Message,
  methods,
  NamedCurveAlgorithm,
  parseMessage,
  RtpHeader,
  SignatureAlgorithm,
  SrtpSession,
  keyLength,
  saltLength,
  type SrtpProfile,
  type Transport,
} from "werift";
import type { RtpPacketHandler, RtpSocket } from "../rtp-socket.ts";

/** This node's DTLS certificate: made once when the node starts, its fingerprint in every answer. */
export interface DtlsIdentity {
  readonly certPem: string;
  readonly keyPem: string;
  readonly signatureHash: { hash: number; signature: number };
  readonly fingerprint: SdpFingerprint;
}

/**
 * A self-signed ECDSA P-256 certificate (what browsers make for themselves).
 * @example const identity = await createDtlsIdentity();
 */
export async function createDtlsIdentity(): Promise<DtlsIdentity> {
  const { certPem, keyPem, signatureHash } = await CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  const fingerprint = { algorithm: "sha-256", value: new X509Certificate(certPem).fingerprint256.toUpperCase() };
  return { certPem, keyPem, signatureHash, fingerprint };
}

/** SRTP profiles we accept, in our order of preference (RFC 7714 GCM first: one pass of AES instead of AES + HMAC). */
const SRTP_PROFILES: SrtpProfile[] = [7, 1];

/** Sources a leg remembers as validated by ICE (the browser's candidates that reached us). */
const MAX_VALIDATED = 8;

export const WEBRTC_LEG_STATES = ["checking", "connecting", "connected", "failed", "closed"] as const;
export type WebRtcLegState = (typeof WEBRTC_LEG_STATES)[number];

export interface WebRtcLegOptions {
  identity: DtlsIdentity;
  /** Our ICE credentials (in our answer). */
  localUfrag: string;
  localPwd: string;
  /** The browser's ICE username fragment and its certificate fingerprints (from its offer). */
  remoteUfrag: string;
  remoteFingerprints: readonly SdpFingerprint[];
  /** How long ICE and the DTLS handshake may take from the answer, ms. */
  handshakeTimeoutMs: number;
  latch?: RtpLatchOptions;
  /** Decrypted RTP from the browser. */
  onPacket: RtpPacketHandler;
  /** The leg cannot carry media (handshake failed or timed out, wrong certificate). Called once. */
  onFailed?: (reason: string) => void;
}

/** What a leg counted (for tests and metrics). */
export interface WebRtcLegCounts {
  stunRequests: number;
  srtpIn: number;
  srtpOut: number;
  rtcpIn: number;
  /** Datagrams dropped: unknown kind, unvalidated source, failed authentication. */
  dropped: number;
}

export class WebRtcLeg implements RtpSocket {
  readonly latch: RtpLatch;
  readonly counts: WebRtcLegCounts = { stunRequests: 0, srtpIn: 0, srtpOut: 0, rtcpIn: 0, dropped: 0 };
  private _state: WebRtcLegState = "checking";
  private readonly username: string;
  private readonly pwdKey: Buffer;
  private readonly validatedAddress: string[] = [];
  private readonly validatedPort: number[] = [];
  /** Where the browser's DTLS came from last: where its records go back. */
  private dtlsAddress = "";
  private dtlsPort = 0;
  private dtls: DtlsServer | null = null;
  private readonly dtlsTransport: Transport;
  private srtp: SrtpSession | null = null;
  /** Reused for every packet we encrypt. */
  private readonly txHeader = new RtpHeader();
  private timer: ReturnType<typeof setTimeout> | null;

  constructor(
    private readonly socket: udp.Socket<"buffer">,
    readonly port: number,
    private readonly release: () => void,
    private readonly opts: WebRtcLegOptions,
  ) {
    this.latch = new RtpLatch("", 0, opts.latch);
    this.username = `${opts.localUfrag}:${opts.remoteUfrag}`;
    this.pwdKey = Buffer.from(opts.localPwd, "utf8");
    this.dtlsTransport = {
      type: "udp",
      address: {} as Transport["address"],
      closed: false,
      onData: () => {},
      send: async (data: Buffer) => {
        if (this._state !== "closed" && this.dtlsPort > 0) this.sendRaw(data, this.dtlsPort, this.dtlsAddress);
      },
      close: async () => {},
    };
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this._state === "checking" || this._state === "connecting") this.fail("ICE and DTLS did not complete in time");
    }, opts.handshakeTimeoutMs);
  }

  get state(): WebRtcLegState {
    return this._state;
  }

  /** Every datagram of the leg's socket (the socket's callback). */
  receive(buf: Uint8Array, port: number, address: string): void {
    if (this._state === "closed" || this._state === "failed" || buf.length === 0) return;
    const b = buf[0] as number;
    if (b >= 128 && b < 192) this.media(buf, port, address);
    else if (b < 4) this.stun(buf, port, address);
    else if (b >= 20 && b < 64) this.dtlsRecord(buf, port, address);
    else this.counts.dropped++;
  }

  /** Sends one plain RTP packet of the call (12-byte header, as RtpSender writes): encrypted to the selected pair. */
  send(data: Uint8Array, _port: number, _address: string): void {
    const srtp = this.srtp;
    if (srtp === null || this._state !== "connected" || !this.latch.latched || data.length < 12) return;
    const h = this.txHeader;
    h.marker = ((data[1] as number) & 0x80) !== 0;
    h.payloadType = (data[1] as number) & 0x7f;
    h.sequenceNumber = ((data[2] as number) << 8) | (data[3] as number);
    h.timestamp = readU32(data, 4);
    h.ssrc = readU32(data, 8);
    const payload = Buffer.from(data.buffer, data.byteOffset + 12, data.length - 12);
    let out: Buffer;
    try {
      out = srtp.encrypt(payload, h);
    } catch {
      return;
    }
    this.counts.srtpOut++;
    this.sendRaw(out, this.latch.port, this.latch.address);
  }

  /** A re-INVITE cannot move a browser's media (that would be an ICE restart): nothing to do. */
  expect(_address: string, _port: number): void {}

  /** Idempotent. */
  close(): void {
    if (this._state === "closed") return;
    this._state = "closed";
    this.stopTimer();
    this.dtlsTransport.closed = true;
    try {
      this.dtls?.close();
    } catch {
      // closing is best effort
    }
    this.socket.close();
    this.release();
  }

  private sendRaw(data: Uint8Array, port: number, address: string): void {
    try {
      this.socket.send(data, port, address);
    } catch {
      // An unreachable peer (ICMP) is the RTP timeout's business.
    }
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private fail(reason: string): void {
    if (this._state === "closed" || this._state === "failed") return;
    this._state = "failed";
    this.stopTimer();
    this.srtp = null;
    try {
      this.opts.onFailed?.(reason);
    } catch {
      // the app's handler must not break the socket's loop
    }
  }

  private isValidated(address: string, port: number): boolean {
    for (let i = 0; i < this.validatedPort.length; i++) {
      if (this.validatedPort[i] === port && this.validatedAddress[i] === address) return true;
    }
    return false;
  }

  private stun(buf: Uint8Array, port: number, address: string): void {
    const data = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    const req = parseMessage(data, this.pwdKey);
    if (!req || req.messageMethod !== methods.BINDING || req.messageClass !== classes.REQUEST) {
      this.counts.dropped++;
      return;
    }
    if (req.getAttributeValue("USERNAME") !== this.username) {
      this.counts.dropped++;
      return;
    }
    this.counts.stunRequests++;
    const res = new Message(methods.BINDING, classes.RESPONSE, req.transactionId)
      .setAttribute("XOR-MAPPED-ADDRESS", [address, port])
      .addMessageIntegrity(this.pwdKey)
      .addFingerprint();
    this.sendRaw(res.bytes, port, address);
    if (!this.isValidated(address, port)) {
      if (this.validatedPort.length >= MAX_VALIDATED) {
        this.validatedPort.shift();
        this.validatedAddress.shift();
      }
      this.validatedAddress.push(address);
      this.validatedPort.push(port);
    }
    // The controlling browser nominates the pair it uses (USE-CANDIDATE); before that
    // the first pair that checked is as good as any.
    const nominated = req.getAttributeValue("USE-CANDIDATE") !== undefined;
    if ((nominated || this.latch.expectedPort === 0) && !this.latch.isLatched(address, port)) {
      this.latch.reset(address, port);
    }
  }

  private dtlsRecord(buf: Uint8Array, port: number, address: string): void {
    if (!this.isValidated(address, port)) {
      this.counts.dropped++;
      return;
    }
    this.dtlsAddress = address;
    this.dtlsPort = port;
    if (this.dtls === null) this.startDtls();
    // werift keeps what it is given (fragments): a copy, as Bun may reuse its buffer.
    this.dtlsTransport.onData(Buffer.from(buf), { address, port } as never);
  }

  private startDtls(): void {
    const { identity } = this.opts;
    this._state = "connecting";
    const dtls = new DtlsServer({
      cert: identity.certPem,
      key: identity.keyPem,
      signatureHash: identity.signatureHash as never,
      transport: this.dtlsTransport,
      srtpProfiles: SRTP_PROFILES,
      extendedMasterSecret: true,
      certificateRequest: true,
    });
    this.dtls = dtls;
    dtls.onConnect.once(() => this.connected(dtls));
    dtls.onError.once((err: Error) => this.fail(`DTLS: ${err.message}`));
  }

  private connected(dtls: DtlsServer): void {
    if (this._state !== "connecting") return;
    const cert = dtls.remoteCertificate;
    if (!cert || !fingerprintMatches(cert, this.opts.remoteFingerprints)) {
      this.fail("the browser's certificate does not match its SDP fingerprint");
      return;
    }
    const profile = dtls.srtp.srtpProfile;
    if (profile === undefined) {
      this.fail("no SRTP profile agreed");
      return;
    }
    const keys = dtls.extractSessionKeys(keyLength(profile), saltLength(profile));
    this.srtp = new SrtpSession({
      keys: {
        localMasterKey: keys.localKey,
        localMasterSalt: keys.localSalt,
        remoteMasterKey: keys.remoteKey,
        remoteMasterSalt: keys.remoteSalt,
      },
      profile,
    });
    this._state = "connected";
    this.stopTimer();
  }

  private media(buf: Uint8Array, port: number, address: string): void {
    const srtp = this.srtp;
    if (srtp === null || !this.isValidated(address, port)) {
      this.counts.dropped++;
      return;
    }
    const pt = (buf[1] as number) & 0x7f;
    // RTCP (RFC 5761 4): packet types 192-223 show as payload types 64-95. Not read yet.
    if (pt >= 64 && pt < 96) {
      this.counts.rtcpIn++;
      return;
    }
    let plain: Buffer;
    try {
      plain = srtp.decrypt(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length));
    } catch {
      this.counts.dropped++;
      return;
    }
    this.counts.srtpIn++;
    if (this.latch.acceptPacket(plain, address, port, performance.now())) this.opts.onPacket(plain, port, address);
  }
}

function readU32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

const HASHES: Record<string, string> = { "sha-1": "sha1", "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

/** Whether the DER certificate matches one of the SDP's fingerprints (of a hash we know). */
export function fingerprintMatches(der: Uint8Array, fingerprints: readonly SdpFingerprint[]): boolean {
  for (const f of fingerprints) {
    const hash = HASHES[f.algorithm];
    if (!hash) continue;
    const hex = createHash(hash).update(der).digest("hex").toUpperCase().match(/../g)?.join(":") ?? "";
    if (hex === f.value.toUpperCase()) return true;
  }
  return false;
}

/** Random ICE credentials (RFC 8445 5.3: 24 and 128 bits at least). */
export function iceCredentials(): { ufrag: string; pwd: string } {
  const b = crypto.getRandomValues(new Uint8Array(24));
  const s = Buffer.from(b)
    .toString("base64")
    .replace(/[^A-Za-z0-9+/]/g, "");
  return { ufrag: s.slice(0, 8), pwd: s.slice(8, 32) };
}
