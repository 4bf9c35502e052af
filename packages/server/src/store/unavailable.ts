// One name for "a store did not answer": the database or the shared key-value store is down,
// unreachable or too slow. Every store call is bounded (see db.ts and kv-redis.ts), and its
// failure surfaces as this error, so callers and the HTTP layer switch on one code and answer
// 503 with Retry-After instead of a 500 after a long wait.

export type StoreName = 'database' | 'store';

/** Seconds a client is asked to wait before retrying while a store is down. */
export const STORE_RETRY_AFTER_SECONDS = 5;

export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  override name = 'StoreUnavailableError';
  readonly store: StoreName;
  constructor(store: StoreName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.store = store;
  }
}

/** Whether the error, or any error it wraps (Drizzle wraps driver errors), is a store outage. */
export function isStoreUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof StoreUnavailableError) return true;
    current = current.cause;
  }
  return false;
}
