// A key-value store that a test can take down, as one Gatehouse instance sees it: wrap the
// suite's shared store once per instance, then fail its commands, stop its messages, restore
// them with a gap (as after a Redis restart), or hold some writes back to order a race.

import type { Kv } from '../store/kv.ts';
import { StoreUnavailableError } from '../store/unavailable.ts';

type Method = Exclude<keyof Kv, 'close'>;

export interface FlakyKv extends Kv {
  /** From now on these commands (all, when omitted) fail as an outage does. */
  fail(methods?: readonly Method[]): void;
  /** Commands answer again. */
  restore(): void;
  /** Messages stop reaching this instance's subscribers (its subscriber connection is gone). */
  deafen(): void;
  /** Messages flow again, and subscribers are told they may have missed some. */
  reconnect(): void;
  /** Writes (set, setIfPresent) to keys with this prefix wait until the returned function runs. */
  holdWrites(prefix: string): () => Promise<void>;
}

export function createFlakyKv(inner: Kv): FlakyKv {
  let failing: Set<string> | 'all' | null = null;
  let deaf = false;
  const subscribers = new Set<{ onLost?: () => void; onGap?: () => void }>();
  let held: { prefix: string; gate: Promise<void>; writes: Promise<unknown>[] } | null = null;

  function check(method: Method) {
    if (failing === 'all' || failing?.has(method))
      throw new StoreUnavailableError('store', `the test took the store down (${method})`);
  }

  async function write<T>(key: string, run: () => Promise<T>): Promise<T> {
    if (held && key.startsWith(held.prefix)) {
      const { gate } = held;
      const done = gate.then(run);
      held.writes.push(done.catch(() => {}));
      return done;
    }
    return run();
  }

  return {
    async get(key) {
      check('get');
      return inner.get(key);
    },
    async set(key, value, ttlMs) {
      check('set');
      return write(key, () => inner.set(key, value, ttlMs));
    },
    async setIfAbsent(key, value, ttlMs) {
      check('setIfAbsent');
      return inner.setIfAbsent(key, value, ttlMs);
    },
    async setIfPresent(key, value, ttlMs) {
      check('setIfPresent');
      return write(key, () => inner.setIfPresent(key, value, ttlMs));
    },
    async del(...keys) {
      check('del');
      return inner.del(...keys);
    },
    async incr(key, ttlMs) {
      check('incr');
      return inner.incr(key, ttlMs);
    },
    async ttl(key) {
      check('ttl');
      return inner.ttl(key);
    },
    async publish(channel, message) {
      check('publish');
      return inner.publish(channel, message);
    },
    async subscribe(channel, handler, options) {
      check('subscribe');
      const hooks = { onLost: options?.onLost, onGap: options?.onGap };
      subscribers.add(hooks);
      const unsubscribe = await inner.subscribe(channel, (message) => {
        if (!deaf) handler(message);
      });
      return async () => {
        subscribers.delete(hooks);
        await unsubscribe();
      };
    },
    async ping() {
      return failing === null && inner.ping();
    },
    // The suite's store is closed by the suite.
    async close() {},
    fail(methods) {
      failing = methods ? new Set(methods) : 'all';
    },
    restore() {
      failing = null;
    },
    deafen() {
      if (deaf) return;
      deaf = true;
      for (const s of subscribers) s.onLost?.();
    },
    reconnect() {
      if (!deaf) return;
      deaf = false;
      for (const s of subscribers) s.onGap?.();
    },
    holdWrites(prefix) {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const current = { prefix, gate, writes: [] as Promise<unknown>[] };
      held = current;
      return async () => {
        if (held === current) held = null;
        open();
        await Promise.all(current.writes);
      };
    },
  };
}
