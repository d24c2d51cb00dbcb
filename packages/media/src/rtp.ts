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
    (((buf[off + 4] as number) << 24) |
      ((buf[off + 5] as number) << 16) |
      ((buf[off + 6] as number) << 8) |
      (buf[off + 7] as number)) >>>
    0;
  out.ssrc =
    (((buf[off + 8] as number) << 24) |
      ((buf[off + 9] as number) << 16) |
      ((buf[off + 10] as number) << 8) |
      (buf[off + 11] as number)) >>>
    0;
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

/**
 * Writes a 12-byte RTP header at `buf[off..off+12)` from explicit fields, for senders
 * that keep their own sequence and timing (the load generator, test peers).
 * @example writeRtpHeader(pkt, 0, 0, true, seq, ts, ssrc); socket.send(pkt, port, host);
 */
export function writeRtpHeader(
  buf: Uint8Array,
  off: number,
  pt: number,
  marker: boolean,
  seq: number,
  ts: number,
  ssrc: number,
): void {
  writeRaw(buf, off, pt & 0x7f, marker, seq & 0xffff, ts >>> 0, ssrc >>> 0);
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

/** Options of an `RtpLatch`. */
export interface RtpLatchOptions {
  /**
   * Packets in sequence (one source address and port, one SSRC, each sequence number
   * 1..16 above the last) a stream from elsewhere than the SDP's address must show
   * before it is latched. Default 4.
   */
  packets?: number;
  /**
   * How long a routable SDP address is given, ms from the answer (or re-INVITE), to
   * send the first packet before a stream from elsewhere may latch. Default 500.
   */
  sdpGraceMs?: number;
  /**
   * How long the latched source must be silent, ms, before a stream from elsewhere may
   * take its place (a NAT binding that changed mid-call). Default 2000.
   */
  relatchSilenceMs?: number;
}

/** Sequence steps a candidate stream may take (1: in order; more: a few lost). */
const MAX_SEQ_STEP = 16;
/** A candidate stream that has not advanced this long, ms, may be displaced by another source. */
const CANDIDATE_STALE_MS = 200;

/**
 * Whether an SDP connection address names a host one can be reached at from outside
 * (not unspecified, private, shared (CGNAT) or link-local). A caller behind NAT puts its
 * private address there; a public (or loopback) one is taken as meant.
 */
export function isRoutableAddress(address: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    if (a > 255 || b > 255 || Number(v4[3]) > 255 || Number(v4[4]) > 255) return false;
    if (a === 0 || a === 10 || a >= 224) return false;
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 169 && b === 254) return false;
    if (a === 100 && b >= 64 && b <= 127) return false;
    return true;
  }
  if (!address.includes(":")) return false; // a host name: packets never come "from" it
  const lower = address.toLowerCase();
  if (lower === "::" || lower.startsWith("fe8") || lower.startsWith("fe9") || lower.startsWith("fea") || lower.startsWith("feb"))
    return false;
  if (lower.startsWith("fc") || lower.startsWith("fd")) return false;
  return true;
}

/**
 * Symmetric RTP latching (RFC 4961 style) that a stranger cannot win with a stray
 * packet. Nothing is sent before the latch: the caller's own packets say where it is.
 *
 * - A packet from exactly the address and port the caller's SDP names latches at once,
 *   and takes the latch back from any other source: that address came over the call's
 *   signalling, so media sent there goes to the caller (or nowhere) whoever sent it.
 * - Any other source (a caller behind NAT) must show a continuing stream first:
 *   `packets` in sequence with one SSRC; a stray packet from a third source neither
 *   counts nor displaces a stream that is advancing. When the SDP names a routable
 *   address, such a stream latches only after `sdpGraceMs`, so a caller whose SDP is
 *   right wins against an attacker who saw the port first.
 * - Once latched, other sources are dropped (and counted in `foreign`). Only when the
 *   latched source has been silent for `relatchSilenceMs` may another continuing stream
 *   take over: a NAT binding that changed mid-call (new source port) is a real case, and
 *   a caller that still sends can never be displaced. The cost: a caller that stops
 *   sending (silence suppression) for that long can lose its latch to a guesser.
 *
 * `accept` runs once per packet and allocates nothing; addresses are compared as the
 * strings the socket gives.
 * @example
 * const latch = new RtpLatch(sdp.address, sdp.port, {}, performance.now());
 * if (!latch.acceptPacket(buf, rinfo.address, rinfo.port, performance.now())) return; // stranger
 * if (latch.latched) socket.send(pkt, latch.port, latch.address);
 */
export class RtpLatch {
  private sdpAddress: string;
  private sdpPort: number;
  private sdpRoutable: boolean;
  /** Node clock (ms) when the latch was armed (answer or re-INVITE). */
  private armedAt: number;
  private latchedAddress: string | null = null;
  private latchedPort = 0;
  /** Node clock (ms) of the last packet from the latched source. */
  private lastAt = 0;
  /** The stream from elsewhere that may latch: its source, SSRC, last sequence and length. */
  private candAddress = "";
  private candPort = -1;
  private candSsrc = 0;
  private candSeq = 0;
  private candCount = 0;
  private candAt = 0;
  private readonly packets: number;
  private readonly sdpGraceMs: number;
  private readonly relatchSilenceMs: number;
  /** Packets dropped because they did not come from the latched source (or had not latched yet). */
  foreign = 0;

  constructor(sdpAddress: string, sdpPort: number, options: RtpLatchOptions = {}, now = performance.now()) {
    this.sdpAddress = sdpAddress;
    this.sdpPort = sdpPort;
    this.sdpRoutable = sdpPort > 0 && isRoutableAddress(sdpAddress);
    this.armedAt = now;
    this.packets = Math.max(1, Math.floor(options.packets ?? 4));
    this.sdpGraceMs = Math.max(0, options.sdpGraceMs ?? 500);
    this.relatchSilenceMs = Math.max(0, options.relatchSilenceMs ?? 2000);
  }

  /** True once the caller's packets have fixed the remote source. */
  get latched(): boolean {
    return this.latchedAddress !== null;
  }
  /** Where to send once latched (before that, the SDP's address, for hand-overs). */
  get address(): string {
    return this.latchedAddress ?? this.sdpAddress;
  }
  /** Port to send to once latched (before that, the SDP's). */
  get port(): number {
    return this.latchedAddress !== null ? this.latchedPort : this.sdpPort;
  }
  /** The address and port the SDP named. */
  get expectedAddress(): string {
    return this.sdpAddress;
  }
  get expectedPort(): number {
    return this.sdpPort;
  }

  /** Whether this packet comes from the latched source (no other check). */
  isLatched(address: string, port: number): boolean {
    return port === this.latchedPort && address === this.latchedAddress;
  }

  /**
   * `accept` for a raw datagram: reads SSRC and sequence number from its RTP header.
   * Not RTP at all: dropped and counted; RTCP (payload types 72-76) is dropped uncounted.
   */
  acceptPacket(buf: Uint8Array, address: string, port: number, now: number): boolean {
    if (buf.length < RTP_HEADER_SIZE || (buf[0] as number) >> 6 !== 2) {
      this.foreign++;
      return false;
    }
    const pt = (buf[1] as number) & 0x7f;
    if (pt >= 72 && pt <= 76) return false;
    const seq = ((buf[2] as number) << 8) | (buf[3] as number);
    const ssrc =
      (((buf[8] as number) << 24) | ((buf[9] as number) << 16) | ((buf[10] as number) << 8) | (buf[11] as number)) >>> 0;
    return this.accept(address, port, ssrc, seq, now);
  }

  /**
   * Call for each RTP packet; true when it comes from the (now) latched source, which
   * may be this very packet's (see the class comment for when a source latches).
   */
  accept(address: string, port: number, ssrc: number, seq: number, now: number): boolean {
    if (port === this.latchedPort && address === this.latchedAddress) {
      this.lastAt = now;
      return true;
    }
    if (port === this.sdpPort && address === this.sdpAddress) {
      this.latchTo(address, port, now);
      return true;
    }
    if (this.latchedAddress !== null && now - this.lastAt < this.relatchSilenceMs) {
      this.foreign++;
      return false;
    }
    if (port === this.candPort && address === this.candAddress && ssrc === this.candSsrc) {
      const step = (seq - this.candSeq) & 0xffff;
      if (step >= 1 && step <= MAX_SEQ_STEP) {
        this.candCount++;
        this.candAt = now;
      } else {
        // Out of order or repeated: start counting again (and do not look fresh).
        this.candCount = 1;
      }
      this.candSeq = seq;
    } else if (this.candCount === 0 || now - this.candAt >= CANDIDATE_STALE_MS) {
      this.candAddress = address;
      this.candPort = port;
      this.candSsrc = ssrc;
      this.candSeq = seq;
      this.candCount = 1;
      this.candAt = now;
    } else {
      this.foreign++;
      return false;
    }
    if (this.candCount >= this.packets && (!this.sdpRoutable || now - this.armedAt >= this.sdpGraceMs)) {
      this.latchTo(address, port, now);
      return true;
    }
    this.foreign++;
    return false;
  }

  private latchTo(address: string, port: number, now: number): void {
    this.latchedAddress = address;
    this.latchedPort = port;
    this.lastAt = now;
    this.candCount = 0;
    this.candPort = -1;
    this.candAddress = "";
  }

  /** A re-INVITE moved the caller's media: forget the latch and wait for its packets again. */
  reset(sdpAddress: string, sdpPort: number, now = performance.now()): void {
    this.sdpAddress = sdpAddress;
    this.sdpPort = sdpPort;
    this.sdpRoutable = sdpPort > 0 && isRoutableAddress(sdpAddress);
    this.armedAt = now;
    this.latchedAddress = null;
    this.latchedPort = 0;
    this.candCount = 0;
    this.candPort = -1;
    this.candAddress = "";
  }
}
