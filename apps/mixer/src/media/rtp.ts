/**
 * RTP (RFC 3550) header parsing and writing, and symmetric-RTP address latching.
 *
 * Everything here runs once per packet, so nothing allocates: `parseRtp` fills a
 * caller-owned `RtpHeader` and reports garbage with `false` (never throws), and
 * `RtpSender` writes 12-byte headers into the caller's buffer.
 */

/** Size of an RTP header without CSRCs or extension. */
export const RTP_HEADER_SIZE = 12;

/** Parsed fields of one packet; reuse one instance per socket. */
export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcCount: number;
  /** Extension profile (the 16 bits after the CSRCs) or -1 when there is none. */
  extensionProfile: number;
  /** Offset of the payload in the buffer given to `parseRtp`. */
  payloadOffset: number;
  /** Payload bytes, padding excluded. */
  payloadLength: number;
}

/**
 * A blank header record to pass to `parseRtp`; allocate once and reuse.
 * @example const h = createRtpHeader(); if (parseRtp(buf, 0, n, h)) use(h.sequence);
 */
export function createRtpHeader(): RtpHeader {
  return {
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    csrcCount: 0,
    extensionProfile: -1,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Parses and validates an RTP packet in `buf[off .. off+len)` into `out`.
 * Returns false, leaving `out` unspecified, for anything that is not a well-formed
 * RTP version 2 packet: short, wrong version, CSRC list or extension running past
 * the end, bad padding count, or an RTCP packet type (RFC 5761 payload types 72-76).
 * @example if (!parseRtp(msg, 0, msg.length, h)) return; // drop garbage
 */
export function parseRtp(buf: Uint8Array, off: number, len: number, out: RtpHeader): boolean {
  if (len < RTP_HEADER_SIZE || off < 0 || off + len > buf.length) return false;
  const b0 = buf[off] as number;
  if (b0 >> 6 !== 2) return false;
  const b1 = buf[off + 1] as number;
  const pt = b1 & 0x7f;
  if (pt >= 72 && pt <= 76) return false;
  const cc = b0 & 0x0f;
  let pos = RTP_HEADER_SIZE + cc * 4;
  if (pos > len) return false;
  let profile = -1;
  if (b0 & 0x10) {
    if (pos + 4 > len) return false;
    profile = ((buf[off + pos] as number) << 8) | (buf[off + pos + 1] as number);
    const words = ((buf[off + pos + 2] as number) << 8) | (buf[off + pos + 3] as number);
    pos += 4 + words * 4;
    if (pos > len) return false;
  }
  let end = len;
  if (b0 & 0x20) {
    const pad = buf[off + len - 1] as number;
    if (pad === 0 || pad > len - pos) return false;
    end -= pad;
  }
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = pt;
  out.sequence = ((buf[off + 2] as number) << 8) | (buf[off + 3] as number);
  out.timestamp =
    (((buf[off + 4] as number) << 24) | ((buf[off + 5] as number) << 16) | ((buf[off + 6] as number) << 8) | (buf[off + 7] as number)) >>> 0;
  out.ssrc =
    (((buf[off + 8] as number) << 24) | ((buf[off + 9] as number) << 16) | ((buf[off + 10] as number) << 8) | (buf[off + 11] as number)) >>> 0;
  out.csrcCount = cc;
  out.extensionProfile = profile;
  out.payloadOffset = off + pos;
  out.payloadLength = end - pos;
  return true;
}

function random32(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] as number;
}

/** Options of an `RtpSender`; omitted numbers are random as RFC 3550 asks. */
export interface RtpSenderOptions {
  /** Payload type of the audio codec (0 PCMU, 8 PCMA, 9 G722, or dynamic). */
  payloadType: number;
  /** Timestamp units per frame: 160 for 20 ms of PCMU/PCMA/G.722 (G.722's RTP clock is 8000). */
  samplesPerFrame?: number;
  ssrc?: number;
  /** First sequence number. */
  sequence?: number;
  /** First timestamp. */
  timestamp?: number;
}

/**
 * Writes the RTP headers of one outgoing stream (one per call). The timestamp
 * advances by one frame per tick whether or not a packet is sent (`skip`), so it
 * stays continuous across prompts, the mix and silence; the marker bit is set on the
 * first packet and on the first packet after a gap.
 * @example
 * const tx = new RtpSender({ payloadType: 0 });
 * tx.writeHeader(packet, 0); packet.set(payload, 12); // every 20 ms
 */
export class RtpSender {
  payloadType: number;
  readonly samplesPerFrame: number;
  readonly ssrc: number;
  /** Sequence number of the next packet. */
  sequence: number;
  /** Timestamp of the next audio frame. */
  timestamp: number;
  private markerPending = true;

  constructor(options: RtpSenderOptions) {
    this.payloadType = options.payloadType & 0x7f;
    this.samplesPerFrame = options.samplesPerFrame ?? 160;
    this.ssrc = (options.ssrc ?? random32()) >>> 0;
    this.sequence = (options.sequence ?? random32()) & 0xffff;
    this.timestamp = (options.timestamp ?? random32()) >>> 0;
  }

  /**
   * Writes the header of this tick's audio packet at `buf[off..off+12)` and advances
   * sequence and timestamp. Returns the header size.
   */
  writeHeader(buf: Uint8Array, off: number): number {
    const marker = this.markerPending;
    this.markerPending = false;
    writeRaw(buf, off, this.payloadType, marker, this.sequence, this.timestamp, this.ssrc);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + this.samplesPerFrame) >>> 0;
    return RTP_HEADER_SIZE;
  }

  /** A tick passes without an audio packet: time moves on, the next packet starts a talkspurt. */
  skip(): void {
    this.timestamp = (this.timestamp + this.samplesPerFrame) >>> 0;
    this.markerPending = true;
  }

  /** Sets the marker on the next audio packet (e.g. after a source change). */
  markNext(): void {
    this.markerPending = true;
  }

  /**
   * Writes the header of a telephone-event packet (RFC 4733): its own payload type
   * and the event's start timestamp; uses a sequence number but not audio time.
   */
  writeEventHeader(buf: Uint8Array, off: number, payloadType: number, eventTimestamp: number, marker: boolean): number {
    writeRaw(buf, off, payloadType & 0x7f, marker, this.sequence, eventTimestamp >>> 0, this.ssrc);
    this.sequence = (this.sequence + 1) & 0xffff;
    return RTP_HEADER_SIZE;
  }
}

function writeRaw(buf: Uint8Array, off: number, pt: number, marker: boolean, seq: number, ts: number, ssrc: number): void {
  buf[off] = 0x80;
  buf[off + 1] = (marker ? 0x80 : 0) | pt;
  buf[off + 2] = seq >>> 8;
  buf[off + 3] = seq & 0xff;
  buf[off + 4] = ts >>> 24;
  buf[off + 5] = (ts >>> 16) & 0xff;
  buf[off + 6] = (ts >>> 8) & 0xff;
  buf[off + 7] = ts & 0xff;
  buf[off + 8] = ssrc >>> 24;
  buf[off + 9] = (ssrc >>> 16) & 0xff;
  buf[off + 10] = (ssrc >>> 8) & 0xff;
  buf[off + 11] = ssrc & 0xff;
}

/**
 * Symmetric RTP (RFC 4961 style latching): until the first valid packet arrives we
 * send to the address in the caller's SDP; from then on we send to wherever the
 * caller's packets come from, and ignore packets from any other source.
 * @example
 * const latch = new RtpLatch(remote.address, remote.port);
 * if (!latch.accept(rinfo.address, rinfo.port)) return; // stranger
 * socket.send(pkt, latch.port, latch.address);
 */
export class RtpLatch {
  private sdpAddress: string;
  private sdpPort: number;
  private latchedAddress: string | null = null;
  private latchedPort = 0;
  /** Packets dropped because they came from a source other than the latched one. */
  strangers = 0;

  constructor(sdpAddress: string, sdpPort: number) {
    this.sdpAddress = sdpAddress;
    this.sdpPort = sdpPort;
  }

  /** True once a packet has fixed the remote source. */
  get latched(): boolean {
    return this.latchedAddress !== null;
  }
  /** Where to send now. */
  get address(): string {
    return this.latchedAddress ?? this.sdpAddress;
  }
  /** Port to send to now. */
  get port(): number {
    return this.latchedAddress !== null ? this.latchedPort : this.sdpPort;
  }

  /**
   * Call for each valid RTP packet; true when it comes from the (now) latched source.
   * The first call latches.
   */
  accept(address: string, port: number): boolean {
    if (this.latchedAddress === null) {
      this.latchedAddress = address;
      this.latchedPort = port;
      return true;
    }
    if (port === this.latchedPort && address === this.latchedAddress) return true;
    this.strangers++;
    return false;
  }

  /** A re-INVITE moved the caller's media: forget the latch and send to the new SDP address. */
  reset(sdpAddress: string, sdpPort: number): void {
    this.sdpAddress = sdpAddress;
    this.sdpPort = sdpPort;
    this.latchedAddress = null;
    this.latchedPort = 0;
  }
}
