/**
 * DTMF: RFC 4733 telephone-event receive and send, and an in-band (Goertzel)
 * detector for callers that did not negotiate telephone-event.
 */

/** Keys by RFC 4733 event code 0..15. */
export const DTMF_KEYS = "0123456789*#ABCD";

/**
 * The key of an event code, or "" for codes that are not keys (e.g. 16, flash).
 * @example dtmfKey(11) // "#"
 */
export function dtmfKey(event: number): string {
  return event >= 0 && event < 16 ? DTMF_KEYS.charAt(event) : "";
}

/**
 * The event code of a key ("0"-"9", "*", "#", "A"-"D"), or -1.
 * @example dtmfEvent("*") // 10
 */
export function dtmfEvent(key: string): number {
  return DTMF_KEYS.indexOf(key.toUpperCase());
}

/**
 * RFC 4733 receiver: reports each key press exactly once, on its first packet,
 * however many times the sender repeats updates and end packets. An event is
 * identified by its RTP timestamp; a packet older than the current event (reordered
 * redundancy) is ignored; a long event split into several segments (duration near
 * 0xffff, then a new timestamp, same key, no end seen) counts once.
 * @example
 * const rx = new DtmfReceiver();
 * const ev = rx.receive(msg, h.payloadOffset, h.payloadLength, h.timestamp);
 * if (ev >= 0) onKey(dtmfKey(ev));
 */
export class DtmfReceiver {
  private have = false;
  private lastTs = 0;
  private lastEvent = -1;
  private ended = true;
  private lastDuration = 0;
  /** Duration (timestamp units) of the last event that ended, from its end packet. */
  lastEndDuration = 0;
  /** Key presses whose end was seen (the first of an event's end packets counts; repeats do not). */
  endCount = 0;

  /** Returns the event code (0..15) when a new key press starts, else -1. */
  receive(payload: Uint8Array, off: number, len: number, timestamp: number): number {
    if (len < 4 || off < 0 || off + 4 > payload.length) return -1;
    const event = payload[off] as number;
    const end = ((payload[off + 1] as number) & 0x80) !== 0;
    const duration = ((payload[off + 2] as number) << 8) | (payload[off + 3] as number);
    const ts = timestamp >>> 0;
    if (this.have && ts === this.lastTs) {
      if (event === this.lastEvent) {
        if (duration > this.lastDuration) this.lastDuration = duration;
        if (end && !this.ended) {
          this.ended = true;
          this.lastEndDuration = duration;
          this.endCount++;
        }
      }
      return -1;
    }
    if (this.have) {
      const age = (ts - this.lastTs) | 0;
      // Older than the current event (late redundancy), unless the clock restarted.
      if (age < 0 && age > -80000) return -1;
      if (!this.ended && event === this.lastEvent && this.lastDuration >= 0xff00) {
        this.lastTs = ts;
        this.lastDuration = duration;
        if (end) {
          this.ended = true;
          this.lastEndDuration = duration;
          this.endCount++;
        }
        return -1;
      }
    }
    this.have = true;
    this.lastTs = ts;
    this.lastEvent = event;
    this.lastDuration = duration;
    this.ended = end;
    if (end) {
      this.lastEndDuration = duration;
      this.endCount++;
    }
    return event < 16 ? event : -1;
  }
}

/** Options of a `DtmfSender`. */
export interface DtmfSenderOptions {
  /** Timestamp units between packets (default 160: one packet per 20 ms at 8 kHz). */
  packetSamples?: number;
  /** Volume field, -dBm0 (default 10). */
  volume?: number;
  /** How many times the end packet is sent (default 3, as RFC 4733 recommends). */
  endRepeats?: number;
}

/**
 * RFC 4733 sender (for tests and the load generator): call `next` once per packet
 * interval; the first packet has the marker, the duration grows, and the final
 * duration goes out in three end packets. Pair it with `RtpSender.writeEventHeader`.
 * @example
 * dtmf.start("5", 100, rtp.timestamp);
 * while (dtmf.next(pkt, 12) > 0) { rtp.writeEventHeader(pkt, 0, 101, dtmf.eventTimestamp, dtmf.marker); send(pkt, 16); rtp.skip(); }
 */
export class DtmfSender {
  private readonly packetSamples: number;
  private readonly volume: number;
  private readonly endRepeats: number;
  private event = 0;
  private totalSamples = 0;
  private sent = 0;
  private endsSent = 0;
  private duration = 0;
  /** RTP timestamp of the current event (all its packets carry it). */
  eventTimestamp = 0;
  /** Whether the packet just written must carry the RTP marker bit. */
  marker = false;
  /** True while packets remain to be sent. */
  active = false;

  constructor(options: DtmfSenderOptions = {}) {
    this.packetSamples = options.packetSamples ?? 160;
    this.volume = options.volume ?? 10;
    this.endRepeats = options.endRepeats ?? 3;
  }

  /** Starts an event: `key` ("0".."9", "*", "#", "A".."D"), its length in ms (8 kHz clock). */
  start(key: string, durationMs: number, timestamp: number): boolean {
    const ev = dtmfEvent(key);
    if (ev < 0) return false;
    this.event = ev;
    this.totalSamples = Math.min(0xffff, Math.max(this.packetSamples, Math.round(durationMs * 8)));
    this.sent = 0;
    this.endsSent = 0;
    this.duration = 0;
    this.eventTimestamp = timestamp >>> 0;
    this.active = true;
    return true;
  }

  /** Writes the next 4-byte payload at `buf[off..]`; returns 4, or 0 when the event is over. */
  next(buf: Uint8Array, off: number): number {
    if (!this.active) return 0;
    let end = false;
    if (this.duration < this.totalSamples) {
      this.duration = Math.min(this.totalSamples, this.duration + this.packetSamples);
      end = this.duration >= this.totalSamples;
    } else {
      end = true;
    }
    if (end) {
      this.endsSent++;
      if (this.endsSent >= this.endRepeats) this.active = false;
    }
    this.marker = this.sent === 0;
    this.sent++;
    buf[off] = this.event;
    buf[off + 1] = (end ? 0x80 : 0) | (this.volume & 0x3f);
    buf[off + 2] = this.duration >>> 8;
    buf[off + 3] = this.duration & 0xff;
    return 4;
  }
}

const ROWS = [697, 770, 852, 941] as const;
const COLS = [1209, 1336, 1477, 1633] as const;
const KEYPAD = "123A456B789C*0#D";

/** Options of the in-band detector. */
export interface InbandDtmfOptions {
  /** Sample rate of the PCM fed in (default 8000). */
  sampleRate?: number;
  /** Lowest amplitude (peak, 16-bit scale) of each of the two tones (default 400, about -32 dBm0). */
  minAmplitude?: number;
  /** Largest level difference between the two tones, dB (default 8). */
  maxTwistDb?: number;
}

/**
 * In-band DTMF detector: Goertzel over 20 ms windows every 10 ms on PCM at 8 kHz.
 * A window holds a key when one row and one column tone stand out (each at least
 * `minAmplitude`, the next strongest of its group 6 dB weaker, twist within
 * `maxTwistDb`, and the pair carrying most of the window's energy, which rejects
 * speech and music). A key is reported once per press after two consecutive windows
 * (about 30-40 ms of tone) and not again until three windows without it (a gap of about 40 ms; a 10 ms dropout is bridged).
 * @example
 * const det = new InbandDtmfDetector();
 * const ev = det.process(pcm8, 0, 160); if (ev >= 0) onKey(dtmfKey(ev));
 */
export class InbandDtmfDetector {
  private readonly n: number;
  private readonly hop: number;
  private readonly win: Float64Array;
  private fill = 0;
  private readonly coeffs = new Float64Array(8);
  private readonly power = new Float64Array(8);
  private readonly minPower: number;
  private readonly maxTwist: number;
  private prev = -1;
  private hits = 0;
  private misses = 0;
  private reported = -1;
  private armed = true;

  constructor(options: InbandDtmfOptions = {}) {
    const rate = options.sampleRate ?? 8000;
    this.n = Math.round(rate * 0.02);
    this.hop = this.n >> 1;
    this.win = new Float64Array(this.n);
    for (let i = 0; i < 4; i++) {
      this.coeffs[i] = 2 * Math.cos((2 * Math.PI * (ROWS[i] as number)) / rate);
      this.coeffs[4 + i] = 2 * Math.cos((2 * Math.PI * (COLS[i] as number)) / rate);
    }
    const a = options.minAmplitude ?? 400;
    this.minPower = ((a * this.n) / 2) ** 2;
    this.maxTwist = 10 ** ((options.maxTwistDb ?? 8) / 10);
  }

  /** Feeds `n` samples; returns a key's event code (0..15) when a press is recognised, else -1. */
  process(pcm: Int16Array, off: number, n: number): number {
    let found = -1;
    for (let i = 0; i < n; i++) {
      this.win[this.fill++] = pcm[off + i] as number;
      if (this.fill === this.n) {
        const r = this.step(this.analyse());
        if (r >= 0 && found < 0) found = r;
        this.win.copyWithin(0, this.hop, this.n);
        this.fill = this.n - this.hop;
      }
    }
    return found;
  }

  private analyse(): number {
    const win = this.win;
    const n = this.n;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const v = win[i] as number;
      energy += v * v;
    }
    for (let f = 0; f < 8; f++) {
      const c = this.coeffs[f] as number;
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const s0 = (win[i] as number) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      this.power[f] = s1 * s1 + s2 * s2 - c * s1 * s2;
    }
    let r = 0;
    let c = 4;
    for (let f = 1; f < 4; f++) if ((this.power[f] as number) > (this.power[r] as number)) r = f;
    for (let f = 5; f < 8; f++) if ((this.power[f] as number) > (this.power[c] as number)) c = f;
    const pr = this.power[r] as number;
    const pc = this.power[c] as number;
    if (pr < this.minPower || pc < this.minPower) return -1;
    if (pr > pc * this.maxTwist || pc > pr * this.maxTwist) return -1;
    for (let f = 0; f < 4; f++) if (f !== r && (this.power[f] as number) * 4 > pr) return -1;
    for (let f = 4; f < 8; f++) if (f !== c && (this.power[f] as number) * 4 > pc) return -1;
    // Each tone's power is (A n / 2)^2 while its energy is n A^2 / 2: compare on one scale.
    if ((pr + pc) * 2 < 0.75 * energy * n) return -1;
    return dtmfEvent(KEYPAD.charAt(r * 4 + (c - 4)));
  }

  private step(cand: number): number {
    if (cand >= 0 && cand === this.prev) this.hits++;
    else this.hits = cand >= 0 ? 1 : 0;
    this.prev = cand;
    if (cand < 0) {
      if (++this.misses >= 3) this.armed = true;
      return -1;
    }
    this.misses = 0;
    if (this.hits >= 2 && (this.armed || cand !== this.reported)) {
      this.armed = false;
      this.reported = cand;
      return cand;
    }
    return -1;
  }
}
