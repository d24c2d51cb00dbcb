/**
 * Failed Basic logins, counted per source address and per (source address, login)
 * pair in fixed windows. Past either bound, the address (or the pair) gets a 429 until
 * its window ends. A login alone is never locked: an attacker's failures from their
 * address never stop the account's owner calling from another one.
 *
 * State is in memory, per API process (several instances each count their own), and
 * bounded: at most `maxEntries` counters, the oldest dropped first. An attempt counts as
 * a failure from the moment it starts (a success takes it back), so a burst of
 * concurrent guesses is bounded like a sequence of them.
 */

/** Options of {@link createLoginLimiter}; the defaults match the env defaults. */
export interface LoginLimiterOptions {
  /** Failures from one address per window before it is refused (default 30). */
  readonly failuresPerAddress?: number;
  /** Failures of one login from one address per window before the pair is refused (default 5). */
  readonly failuresPerLogin?: number;
  /** Window length in milliseconds (default 300 000). */
  readonly windowMs?: number;
  /** Counters kept at most (default 100 000). */
  readonly maxEntries?: number;
  /** Clock in milliseconds (tests); default `Date.now`. */
  readonly now?: () => number;
}

/** The failed-login limiter. */
export interface LoginLimiter {
  /** Milliseconds until `address` may try `login` again; 0 when it may now. */
  retryAfterMs(address: string, login: string): number;
  /** Counts an attempt as a failure; call `succeeded` when it turns out right. */
  attempt(address: string, login: string): void;
  /** Takes an attempt back and forgets the pair's failures. */
  succeeded(address: string, login: string): void;
  /** Counters held (tests, metrics). */
  readonly size: number;
}

interface Counter {
  count: number;
  readonly resetAt: number;
}

/**
 * Creates a limiter.
 * @example
 * const limiter = createLoginLimiter({ failuresPerLogin: 5, windowMs: 300_000 });
 * if (limiter.retryAfterMs(ip, login) > 0) throw tooManyRequests(...);
 */
export function createLoginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  const perAddress = options.failuresPerAddress ?? 30;
  const perLogin = options.failuresPerLogin ?? 5;
  const windowMs = options.windowMs ?? 300_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const counters = new Map<string, Counter>();

  const addressKey = (address: string) => `a ${address}`;
  // The login is hashed: a counter must not keep a megabyte-long login alive.
  const pairKey = (address: string, login: string) => `p ${address} ${Bun.hash(login).toString(36)}`;

  function live(key: string, t: number): Counter | undefined {
    const c = counters.get(key);
    if (c && c.resetAt <= t) {
      counters.delete(key);
      return undefined;
    }
    return c;
  }

  function bump(key: string, t: number): void {
    const c = live(key, t);
    if (c) {
      c.count++;
      return;
    }
    while (counters.size >= maxEntries) {
      const oldest = counters.keys().next().value;
      if (oldest === undefined) break;
      counters.delete(oldest);
    }
    // Insertion order is window-start order, so the first key is the oldest.
    counters.set(key, { count: 1, resetAt: t + windowMs });
  }

  return {
    retryAfterMs(address, login) {
      const t = now();
      let wait = 0;
      const a = live(addressKey(address), t);
      if (a && a.count >= perAddress) wait = a.resetAt - t;
      const p = live(pairKey(address, login), t);
      if (p && p.count >= perLogin) wait = Math.max(wait, p.resetAt - t);
      return wait;
    },
    attempt(address, login) {
      const t = now();
      bump(addressKey(address), t);
      bump(pairKey(address, login), t);
    },
    succeeded(address, login) {
      const t = now();
      counters.delete(pairKey(address, login));
      const a = live(addressKey(address), t);
      if (a && a.count > 0) a.count--;
    },
    get size() {
      return counters.size;
    },
  };
}
