// A bounded in-process cache with per-entry expiry: the first stop of every hot path.
// Map iteration order is insertion order, so re-inserting on read makes it an LRU.

export interface LruCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs?: number): void;
  delete(key: string): void;
  /** Deletes every entry whose value matches (rare events such as "revoke all of a user's sessions"). */
  deleteWhere(predicate: (value: V, key: string) => boolean): void;
  clear(): void;
  readonly size: number;
}

export function createLru<V>(options: {
  max: number;
  ttlMs: number;
  now?: () => number;
}): LruCache<V> {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: V; expires: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires <= now()) {
        entries.delete(key);
        return undefined;
      }
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, ttlMs = options.ttlMs) {
      entries.delete(key);
      entries.set(key, { value, expires: now() + ttlMs });
      if (entries.size > options.max) entries.delete(entries.keys().next().value!);
    },
    delete(key) {
      entries.delete(key);
    },
    deleteWhere(predicate) {
      for (const [key, entry] of entries) if (predicate(entry.value, key)) entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
