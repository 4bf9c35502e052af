// A bounded map of verified tokens (or sessions) to what they proved, each entry with an expiry
// it never outlives and the subject it belongs to, so a revocation for that subject evicts it.
// Oldest-first eviction (insertion order): cheap on the hot path, and a hot token that falls
// out is simply verified again.

export interface LeaseEntry<T> {
  value: T;
  /** Epoch milliseconds after which the entry is gone. */
  expiresAt: number;
  sub: string | null;
}

export class LeaseCache<T> {
  readonly #max: number;
  readonly #entries = new Map<string, LeaseEntry<T>>();
  readonly #bySub = new Map<string, Set<string>>();

  constructor(maxEntries: number) {
    this.#max = Math.max(0, maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, expiresAt: number, sub: string | null): void {
    if (this.#max === 0) return;
    this.delete(key);
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt, sub });
    if (sub !== null) {
      let keys = this.#bySub.get(sub);
      if (!keys) {
        keys = new Set();
        this.#bySub.set(sub, keys);
      }
      keys.add(key);
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    if (entry.sub !== null) {
      const keys = this.#bySub.get(entry.sub);
      keys?.delete(key);
      if (keys?.size === 0) this.#bySub.delete(entry.sub);
    }
  }

  /** Drops every entry of this subject; returns how many. */
  evictSubject(sub: string): number {
    const keys = this.#bySub.get(sub);
    if (!keys) return 0;
    const n = keys.size;
    for (const key of [...keys]) this.delete(key);
    return n;
  }

  clear(): void {
    this.#entries.clear();
    this.#bySub.clear();
  }
}
