/**
 * How late the mixer's 20 ms ticks run and how long they take, kept in fixed histograms
 * (0.1 ms buckets) so the clock path allocates nothing. The node logs a summary every
 * MIXER_STATS_SECONDS: the tick-timing figure of the scale issue, measured where it
 * happens instead of through a generator's own scheduling noise.
 */
const BUCKET_MS = 0.1;
const BUCKETS = 1000; // 0-100 ms; later lands in the last bucket

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  add(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    let b = Math.floor(v / BUCKET_MS);
    if (b >= BUCKETS) b = BUCKETS - 1;
    this.counts[b]!++;
    this.count++;
    if (v > this.max) this.max = v;
  }

  /** The value at quantile q (0..1), to a bucket's width; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] as number;
      if (seen >= rank) return b === BUCKETS - 1 ? this.max : Math.min(this.max, (b + 1) * BUCKET_MS);
    }
    return this.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }
}

/** Upper bounds of the tick-lateness buckets for metrics, seconds (a tick is 20 ms). */
export const LATENESS_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1] as const;

/**
 * A Prometheus-style histogram that only grows (never reset), in preallocated arrays:
 * `observe` allocates nothing, so the clock may call it every tick. Read at scrape time.
 *
 * @example
 * const h = new CumulativeHistogram([0.001, 0.01]);
 * h.observe(0.004); // counts[1] === 1, sum 0.004
 */
export class CumulativeHistogram {
  /** Upper bounds, seconds, ascending (+Inf is implied after the last). */
  readonly bounds: Float64Array;
  /** Observations per bucket, not cumulative; the last entry is above every bound. */
  readonly counts: Float64Array;
  count = 0;
  sum = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const v = value < 0 ? 0 : value;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += v;
  }
}

export class TickStats {
  /** Start of a tick behind its schedule, ms. */
  readonly late = new Histogram();
  /** The same lateness since the node started, seconds, for metrics (never reset). */
  readonly lateness = new CumulativeHistogram(LATENESS_BUCKETS_S);
  /** Work of one tick (mix, encode, send), ms. */
  readonly work = new Histogram();

  /** One line for the log, then the histograms start over. */
  summary(): string {
    const f = (v: number) => v.toFixed(1);
    const l = this.late;
    const w = this.work;
    const line =
      `ticks ${l.count}: late p50/p99/p99.9/max ${f(l.quantile(0.5))}/${f(l.quantile(0.99))}/${f(l.quantile(0.999))}/${f(l.max)} ms, ` +
      `work p50/p99/max ${f(w.quantile(0.5))}/${f(w.quantile(0.99))}/${f(w.max)} ms`;
    l.reset();
    w.reset();
    return line;
  }
}
