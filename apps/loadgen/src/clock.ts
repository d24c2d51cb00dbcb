/**
 * A drift-free periodic scheduler: deadlines are computed from the start time
 * (start + n x period), never by adding the period to "now", so timer lateness does not
 * accumulate. The period may be split into phases (sub-ticks) so a generator spreads its
 * callers over the packet time like real, unsynchronized phones.
 */
import { Histogram } from "./rtp/stats.ts";

export interface TickerOptions {
  periodMs: number;
  /** Sub-ticks per period (default 1). Each fires with its phase index. */
  phases?: number;
  /** Ticks later than this are skipped rather than sent in a burst (default 200 ms). */
  maxCatchUpMs?: number;
  /** Called for each due sub-tick: period number, phase, how late it runs (ms). */
  onTick: (tick: number, phase: number, lateMs: number) => void;
}

/** Periodic scheduler; `lag` records how late each sub-tick ran (the generator's own noise). */
export class Ticker {
  readonly lag = new Histogram(0.1, 1000);
  skipped = 0;
  /** Ticks whose handler threw. */
  errors = 0;
  lastError: unknown = null;
  private readonly sub: number;
  private readonly phases: number;
  private readonly maxCatchUp: number;
  private readonly onTick: TickerOptions["onTick"];
  private start = 0;
  private n = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  constructor(opts: TickerOptions) {
    this.phases = Math.max(1, Math.floor(opts.phases ?? 1));
    this.sub = opts.periodMs / this.phases;
    this.maxCatchUp = opts.maxCatchUpMs ?? 200;
    this.onTick = opts.onTick;
  }

  /** Start at `at` (performance.now() time; default now). */
  startAt(at = performance.now()): void {
    if (this.running) return;
    this.running = true;
    this.start = at;
    this.n = 0;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (!this.running) return;
    const due = this.start + this.n * this.sub;
    const wait = due - performance.now();
    this.timer = setTimeout(() => this.fire(), wait > 0 ? wait : 0);
  }

  private fire(): void {
    if (!this.running) return;
    const now = performance.now();
    // Run every sub-tick that is due; skip those hopelessly late.
    for (;;) {
      const due = this.start + this.n * this.sub;
      if (due > now) break;
      const late = now - due;
      if (late > this.maxCatchUp) {
        this.skipped++;
      } else {
        this.lag.record(late);
        try {
          this.onTick(Math.floor(this.n / this.phases), this.n % this.phases, late);
        } catch (e) {
          // One bad tick must not stop the clock for every other call.
          this.errors++;
          this.lastError = e;
        }
      }
      this.n++;
      if (!this.running) return;
    }
    this.arm();
  }
}
