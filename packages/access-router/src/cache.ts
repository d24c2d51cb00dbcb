/**
 * A bounded TTL map for config lookups, negative results included. Small on purpose:
 * the hard part of caching here is invalidation, which the router does explicitly.
 */

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<V> {
  readonly #entries = new Map<string, Entry<V>>();

  /**
   * @param ttlMs how long an entry is served, in milliseconds; 0 disables caching
   * @param maxEntries the oldest entry is dropped beyond this (dialed numbers come from
   *   strangers, so negative entries must not grow without bound)
   * @param now clock in milliseconds
   */
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  /** The live entry for `key`, wrapped so a cached `null` is told apart from a miss. */
  get(key: string): { value: V } | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return { value: e.value };
  }

  set(key: string, value: V): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    // Re-inserting moves the key to the end, so Map order stays oldest-first.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  deleteWhere(pred: (key: string) => boolean): void {
    for (const key of [...this.#entries.keys()]) if (pred(key)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
