/** RTP fixed header (RFC 3550 5.1) read and write, without allocation on the hot path. */

export const RTP_HEADER_LEN = 12;

/** Header fields of a received packet. */
export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload (after CSRCs and extension). */
  payloadOffset: number;
  /** Payload length excluding padding. */
  payloadLength: number;
}

/** Write a 12-byte header into `buf` at offset 0. */
export function writeRtpHeader(
  buf: Uint8Array,
  marker: boolean,
  payloadType: number,
  seq: number,
  timestamp: number,
  ssrc: number,
): void {
  buf[0] = 0x80;
  buf[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  buf[2] = (seq >>> 8) & 0xff;
  buf[3] = seq & 0xff;
  buf[4] = (timestamp >>> 24) & 0xff;
  buf[5] = (timestamp >>> 16) & 0xff;
  buf[6] = (timestamp >>> 8) & 0xff;
  buf[7] = timestamp & 0xff;
  buf[8] = (ssrc >>> 24) & 0xff;
  buf[9] = (ssrc >>> 16) & 0xff;
  buf[10] = (ssrc >>> 8) & 0xff;
  buf[11] = ssrc & 0xff;
}

/** Parse the header into `out`; returns false for anything that is not RTP version 2. */
export function readRtpHeader(buf: Uint8Array, out: RtpHeader): boolean {
  const len = buf.length;
  if (len < RTP_HEADER_LEN) return false;
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return false;
  const b1 = buf[1]!;
  // RTCP multiplexed on the RTP port (RFC 5761) has PT 200-204 with marker set.
  if (b1 >= 200 && b1 <= 204) return false;
  let off = RTP_HEADER_LEN + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (len < off + 4) return false;
    off += 4 + ((buf[off + 2]! << 8) | buf[off + 3]!) * 4;
  }
  let end = len;
  if (b0 & 0x20) end -= buf[len - 1]!;
  if (off > end) return false;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.seq = (buf[2]! << 8) | buf[3]!;
  out.timestamp = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  out.ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
  out.payloadOffset = off;
  out.payloadLength = end - off;
  return true;
}

/** A fresh header record to reuse with readRtpHeader. */
export function emptyHeader(): RtpHeader {
  return { marker: false, payloadType: 0, seq: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, payloadLength: 0 };
}
