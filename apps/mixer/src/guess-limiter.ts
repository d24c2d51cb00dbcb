/**
 * Makes guessing access codes not pay: wrong codes are counted per caller number
 * across calls; past half the limit each further try is slowed down, and at the limit
 * the number is refused for a while.
 */
export interface GuessLimiterOptions {
  /** Wrong codes from one number before it is refused. */
  limit: number;
  /** How long a refused number stays refused, ms. */
  banMs: number;
  /** Wrong codes are forgotten after this long without another, ms. Default banMs. */
  windowMs?: number;
  now?: () => number;
}

interface Entry {
  wrong: number;
  lastAt: number;
  bannedUntil: number;
}

export type GuessVerdict = { kind: "allow"; delayMs: number } | { kind: "refuse"; retryAfterMs: number };

export class GuessLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly opts: GuessLimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  private entry(caller: string): Entry | undefined {
    const e = this.entries.get(caller);
    if (!e) return undefined;
    const t = this.now();
    if (e.bannedUntil <= t && t - e.lastAt > (this.opts.windowMs ?? this.opts.banMs)) {
      this.entries.delete(caller);
      return undefined;
    }
    return e;
  }

  /** Before checking a code: may this caller try now, and after what pause? */
  check(caller: string): GuessVerdict {
    const e = this.entry(caller);
    if (!e) return { kind: "allow", delayMs: 0 };
    const t = this.now();
    if (e.bannedUntil > t) return { kind: "refuse", retryAfterMs: e.bannedUntil - t };
    const soft = Math.ceil(this.opts.limit / 2);
    // Past half the limit, each wrong code costs one more second before the next check.
    const delayMs = e.wrong >= soft ? Math.min(10_000, (e.wrong - soft + 1) * 1000) : 0;
    return { kind: "allow", delayMs };
  }

  /** A wrong code was entered; true when this one reached the limit (the caller is now refused). */
  wrong(caller: string): boolean {
    const t = this.now();
    const e = this.entry(caller) ?? { wrong: 0, lastAt: t, bannedUntil: 0 };
    e.wrong++;
    e.lastAt = t;
    this.entries.set(caller, e);
    if (e.wrong >= this.opts.limit) {
      e.bannedUntil = t + this.opts.banMs;
      e.wrong = 0;
      return true;
    }
    return false;
  }

  /** A right code clears the count. */
  right(caller: string): void {
    const e = this.entries.get(caller);
    if (e && e.bannedUntil <= this.now()) this.entries.delete(caller);
  }
}
