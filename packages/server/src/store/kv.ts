// The shared key-value and pub/sub store: in-memory for one process, Redis across instances.
// Every key and channel is namespaced by the store's prefix, so test files and deployments
// sharing one Redis never see each other's data. A store that does not answer rejects with
// StoreUnavailableError (unavailable.ts) within a bounded time; it never queues work for later.

export type Unsubscribe = () => Promise<void>;

export interface Kv {
  /** The value, or null when absent or expired. */
  get(key: string): Promise<string | null>;
  /** Stores a value; with ttlMs it expires after that many milliseconds. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Stores only when the key is absent; true when stored (a lock or a one-time marker). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * Replaces the value and its TTL only when the key still exists; true when stored. A
   * write-back (session activity) uses it so it can never bring back a key someone deleted.
   */
  setIfPresent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes keys; absent keys are ignored. */
  del(...keys: string[]): Promise<void>;
  /**
   * Adds one to a counter and returns the new value. The TTL is set when the counter is
   * created and left alone afterwards (a fixed window).
   */
  incr(key: string, ttlMs: number): Promise<number>;
  /** Milliseconds until the key expires; null when absent or without expiry. */
  ttl(key: string): Promise<number | null>;
  /** Sends a message to every subscriber of the channel, in this process and others. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls the handler for every message on the channel until unsubscribed. `onLost` is called
   * when the subscription drops (Redis stopped, the network failed): messages are not heard
   * until `onGap`, called once it is restored, and those sent meanwhile are gone, so whatever
   * they would have invalidated is suspect.
   */
  subscribe(
    channel: string,
    handler: (message: string) => void,
    options?: { onLost?: () => void; onGap?: () => void },
  ): Promise<Unsubscribe>;
  /** Reachable? Used by /readyz. */
  ping(): Promise<boolean>;
  /** Closes connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Checks a TTL and rounds it up to whole milliseconds, so both stores accept and refuse the
 * same values (Redis rejects fractions and zero; a Map would silently keep a dead key).
 */
export function normaliseTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

/** Where a store reports errors that no caller can receive, unless told otherwise. */
export function warnUnhandledKvError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), {
    type: 'GatehouseKvWarning',
  });
}
