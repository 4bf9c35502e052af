// The key-value store for one process: a Map with expiry and in-process pub/sub. Gatehouse
// instances that share one store object (embedded mode, tests) see each other's keys and
// messages exactly as instances sharing a Redis would.

import { type Kv, normaliseTtl, type Unsubscribe, warnUnhandledKvError } from './kv.ts';

export interface MemoryKvOptions {
  /** Namespaces keys and channels, as in the Redis store. */
  prefix?: string;
  /** Milliseconds since the epoch; inject one to test expiry without waiting. */
  clock?: () => number;
  /** Receives errors thrown by subscribers' handlers; they never reach the publisher. */
  onError?: (error: unknown) => void;
}

interface Entry {
  value: string;
  /** Epoch milliseconds, or null for a key that never expires. */
  expiresAt: number | null;
}

interface Subscription {
  handler: (message: string) => void;
}

// Lazy expiry on read keeps answers exact; the sweep only bounds the memory held by keys
// nobody reads again (rate-limit counters of visitors who left).
const SWEEP_INTERVAL_MS = 30_000;

export function createMemoryKv(options: MemoryKvOptions = {}): Kv {
  const prefix = options.prefix ?? '';
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? warnUnhandledKvError;
  const entries = new Map<string, Entry>();
  const channels = new Map<string, Set<Subscription>>();
  let closed = false;

  const sweep = setInterval(() => {
    const now = clock();
    for (const [key, entry] of entries) {
      if (isExpired(entry, now)) entries.delete(key);
    }
  }, SWEEP_INTERVAL_MS);
  // The sweep is housekeeping; it must not keep a finished process or test run alive.
  sweep.unref();

  function live(): void {
    if (closed) throw new Error('the key-value store is closed');
  }

  function read(key: string): Entry | null {
    const entry = entries.get(prefix + key);
    if (entry === undefined) return null;
    if (isExpired(entry, clock())) {
      entries.delete(prefix + key);
      return null;
    }
    return entry;
  }

  function write(key: string, value: string, ttlMs: number | undefined): void {
    const expiresAt = ttlMs === undefined ? null : clock() + normaliseTtl(ttlMs);
    entries.set(prefix + key, { value, expiresAt });
  }

  function deliver(subscribers: Set<Subscription>, subscription: Subscription, message: string) {
    // Checked at delivery, not at publish, so an unsubscribe that has resolved is final.
    if (closed || !subscribers.has(subscription)) return;
    try {
      subscription.handler(message);
    } catch (error) {
      onError(error);
    }
  }

  return {
    async get(key) {
      live();
      return read(key)?.value ?? null;
    },

    async set(key, value, ttlMs) {
      live();
      write(key, value, ttlMs);
    },

    async setIfAbsent(key, value, ttlMs) {
      live();
      const ttl = normaliseTtl(ttlMs);
      if (read(key) !== null) return false;
      write(key, value, ttl);
      return true;
    },

    async setIfPresent(key, value, ttlMs) {
      live();
      const ttl = normaliseTtl(ttlMs);
      if (read(key) === null) return false;
      write(key, value, ttl);
      return true;
    },

    async del(...keys) {
      live();
      for (const key of keys) entries.delete(prefix + key);
    },

    async incr(key, ttlMs) {
      live();
      const ttl = normaliseTtl(ttlMs);
      const entry = read(key);
      if (entry === null) {
        write(key, '1', ttl);
        return 1;
      }
      // Same refusal as Redis INCR, so a caller's bug shows up in embedded mode too.
      if (!/^-?\d+$/.test(entry.value) || !Number.isSafeInteger(Number(entry.value))) {
        throw new Error(`cannot increment ${JSON.stringify(key)}: its value is not an integer`);
      }
      const next = Number(entry.value) + 1;
      entry.value = String(next);
      return next;
    },

    async ttl(key) {
      live();
      const entry = read(key);
      if (entry === null || entry.expiresAt === null) return null;
      return entry.expiresAt - clock();
    },

    async publish(channel, message) {
      live();
      const subscribers = channels.get(prefix + channel);
      if (subscribers === undefined) return;
      // Asynchronous like Redis: a handler never runs inside the publisher's call stack, so
      // it cannot re-enter code that is halfway through publishing.
      for (const subscription of subscribers) {
        queueMicrotask(() => deliver(subscribers, subscription, message));
      }
    },

    async subscribe(channel, handler): Promise<Unsubscribe> {
      live();
      const name = prefix + channel;
      let subscribers = channels.get(name);
      if (subscribers === undefined) {
        subscribers = new Set();
        channels.set(name, subscribers);
      }
      // A fresh object per call: subscribing one handler twice gives two independent
      // subscriptions, each removed by its own unsubscribe.
      const subscription: Subscription = { handler };
      subscribers.add(subscription);
      const own = subscribers;
      return async () => {
        own.delete(subscription);
        if (own.size === 0 && channels.get(name) === own) channels.delete(name);
      };
    },

    async ping() {
      return !closed;
    },

    async close() {
      closed = true;
      clearInterval(sweep);
      entries.clear();
      channels.clear();
    },
  };
}

function isExpired(entry: Entry, now: number): boolean {
  return entry.expiresAt !== null && now >= entry.expiresAt;
}
