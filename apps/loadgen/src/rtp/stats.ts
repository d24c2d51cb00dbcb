/**
 * What a caller receives, measured per RTP stream: loss from sequence numbers (with
 * 16-bit wrap, RFC 3550 A.1 style extended sequence numbers), RFC 3550 interarrival
 * jitter, the raw deviation of each inter-arrival time from the packets' spacing in
 * timestamp units, late packets (an arrival gap above the packet time plus a margin), and
 * continuity errors (sequence jumps, timestamps not advancing by the samples in between,
 * SSRC changes).
 */

/** Fixed-bin histogram of non-negative values (ms), cheap to record and to merge. */
export class Histogram {
  readonly binMs: number;
  readonly bins: Uint32Array;
  count = 0;
  max = 0;
  sum = 0;

  constructor(binMs = 0.1, rangeMs = 1000) {
    this.binMs = binMs;
    this.bins = new Uint32Array(Math.ceil(rangeMs / binMs) + 1);
  }

  record(v: number): void {
    const x = v < 0 ? 0 : v;
    let i = Math.floor(x / this.binMs);
    if (i >= this.bins.length) i = this.bins.length - 1;
    this.bins[i]!++;
    this.count++;
    this.sum += x;
    if (x > this.max) this.max = x;
  }

  /** Value at quantile q (0..1): upper edge of the bin that holds it, capped by max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i]!;
      // The last bin holds everything beyond the range: its only known value is max.
      if (seen >= rank) return i === this.bins.length - 1 ? this.max : Math.min((i + 1) * this.binMs, this.max);
    }
    return this.max;
  }

  merge(other: HistogramData): void {
    const n = Math.min(this.bins.length, other.bins.length);
    for (let i = 0; i < n; i++) this.bins[i]! += other.bins[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.bins.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }

  toData(): HistogramData {
    return { binMs: this.binMs, bins: Array.from(this.bins), count: this.count, max: this.max, sum: this.sum };
  }
}

/** Serializable form of a histogram (to pass between workers). */
export interface HistogramData {
  binMs: number;
  bins: ArrayLike<number>;
  count: number;
  max: number;
  sum: number;
}

/** Counters of one received stream (serializable). */
export interface StreamCounters {
  packets: number;
  /** Packets expected from the first to the highest extended sequence number. */
  expected: number;
  duplicates: number;
  /** Packets arriving with a sequence number lower than the highest seen. */
  reordered: number;
  /** Forward sequence jumps (a gap of at least one missing packet). */
  seqJumps: number;
  /** Timestamp not advancing by samplesPerPacket x sequence delta (marker packets excepted). */
  tsErrors: number;
  ssrcChanges: number;
  /** Inter-arrival gaps above the late threshold (consecutive packets only). */
  late: number;
  /** RFC 3550 interarrival jitter in ms at the end. */
  jitterMs: number;
  maxGapMs: number;
  bytes: number;
}

/** Counters at zero: a new stream, or the sum to add streams into. */
export function emptyCounters(): StreamCounters {
  return {
    packets: 0,
    expected: 0,
    duplicates: 0,
    reordered: 0,
    seqJumps: 0,
    tsErrors: 0,
    ssrcChanges: 0,
    late: 0,
    jitterMs: 0,
    maxGapMs: 0,
    bytes: 0,
  };
}

export interface StreamStatsOptions {
  /** Samples per packet in timestamp units (160 for 20 ms at 8 kHz). */
  samplesPerPacket?: number;
  /** Clock rate of the timestamps. */
  rate?: number;
  /** Gap above which an arrival counts as late, ms (default 25 = 20 + 5). */
  lateMs?: number;
  /** Shared histogram of |inter-arrival deviation| in ms; optional. */
  deviation?: Histogram;
}

const SEQ_MOD = 65536;

/** Receive statistics of one RTP stream. Feed `onPacket` with header fields and arrival time. */
export class StreamStats {
  private readonly spp: number;
  private readonly msPerTs: number;
  private readonly lateMs: number;
  private readonly deviation: Histogram | undefined;
  private started = false;
  /** The next packet begins a new stream announced by newStream(). */
  private restart = false;
  private baseExt = 0;
  private maxExt = 0;
  private maxSeq = 0;
  private ssrc = 0;
  private lastArrival = 0;
  private lastTs = 0;
  private transitTs = 0;
  private jitterTs = 0;
  /** Bitmap of recently seen extended sequence numbers, to tell duplicates from late arrivals. */
  private readonly seen = new Uint8Array(1024);
  readonly c: StreamCounters = emptyCounters();

  constructor(opts: StreamStatsOptions = {}) {
    this.spp = opts.samplesPerPacket ?? 160;
    this.msPerTs = 1000 / (opts.rate ?? 8000);
    this.lateMs = opts.lateMs ?? 25;
    this.deviation = opts.deviation;
  }

  /** Zero the counters at the start of a measurement window. */
  resetCounters(): void {
    const c = this.c;
    c.packets = 0;
    c.duplicates = 0;
    c.reordered = 0;
    c.seqJumps = 0;
    c.tsErrors = 0;
    c.ssrcChanges = 0;
    c.late = 0;
    c.maxGapMs = 0;
    c.bytes = 0;
    c.expected = 0;
    // Loss is counted from the next packet on; sequence continuity is kept.
    this.baseExt = this.maxExt + 1;
  }

  /**
   * The next packet starts a new stream, as when the far end moves the call to another
   * node (re-INVITE): its SSRC, sequence and timestamps restart without counting as an
   * SSRC change, a sequence jump, a timestamp error, loss or a late gap. What the old
   * stream received and lost stays counted.
   */
  newStream(): void {
    if (this.started) this.restart = true;
  }

  /**
   * Account one packet. `arrivalMs` is a monotonic clock in ms (performance.now()).
   * Call only for the audio payload type(s) whose timestamps advance at `rate`.
   */
  onPacket(seq: number, timestamp: number, ssrc: number, marker: boolean, arrivalMs: number, bytes: number): void {
    const c = this.c;
    c.packets++;
    c.bytes += bytes;
    if (!this.started || this.restart || ssrc !== this.ssrc) {
      if (this.started && !this.restart) c.ssrcChanges++;
      this.restart = false;
      const packetsBefore = this.started ? this.maxExt - this.baseExt + 1 : 0;
      this.started = true;
      this.ssrc = ssrc;
      this.maxSeq = seq;
      // A new source restarts numbering; keep the expected count continuous across it.
      this.baseExt = seq - packetsBefore;
      this.maxExt = seq;
      this.lastArrival = arrivalMs;
      this.lastTs = timestamp;
      this.transitTs = arrivalMs / this.msPerTs - timestamp;
      this.seen.fill(0);
      this.seen[seq & 1023] = 1;
      c.expected = this.maxExt - this.baseExt + 1;
      return;
    }
    // Extended sequence number nearest to the highest seen (handles wrap both ways).
    let delta = seq - this.maxSeq;
    if (delta > SEQ_MOD / 2) delta -= SEQ_MOD;
    else if (delta < -SEQ_MOD / 2) delta += SEQ_MOD;
    const ext = this.maxExt + delta;
    if (delta <= 0) {
      if (delta > -1024 && this.seen[ext & 1023] === 1) c.duplicates++;
      else {
        c.reordered++;
        this.seen[ext & 1023] = 1;
      }
      return;
    }
    // New highest packet.
    if (delta > 1) c.seqJumps++;
    for (let e = this.maxExt + 1; e <= ext && e - this.maxExt <= 1024; e++) this.seen[e & 1023] = 0;
    this.seen[ext & 1023] = 1;
    this.maxSeq = seq;
    this.maxExt = ext;
    c.expected = this.maxExt - this.baseExt + 1;

    const tsDelta = (timestamp - this.lastTs) | 0; // signed 32-bit difference
    if (!marker && tsDelta !== this.spp * delta) c.tsErrors++;
    const gap = arrivalMs - this.lastArrival;
    if (gap > c.maxGapMs) c.maxGapMs = gap;
    if (delta === 1) {
      if (gap > this.lateMs) c.late++;
      this.deviation?.record(Math.abs(gap - tsDelta * this.msPerTs));
    }
    // RFC 3550 6.4.1 / A.8 interarrival jitter in timestamp units.
    const transit = arrivalMs / this.msPerTs - timestamp;
    let d = transit - this.transitTs;
    // Timestamp wrap shows as a jump of 2^32 in transit.
    if (d > 2 ** 31) d -= 2 ** 32;
    else if (d < -(2 ** 31)) d += 2 ** 32;
    this.transitTs = transit;
    this.jitterTs += (Math.abs(d) - this.jitterTs) / 16;
    c.jitterMs = this.jitterTs * this.msPerTs;
    this.lastArrival = arrivalMs;
    this.lastTs = timestamp;
  }

  /** Packets lost: expected minus received (RFC 3550 A.3), never negative. */
  get lost(): number {
    return Math.max(0, this.c.expected - (this.c.packets - this.c.duplicates));
  }
}
