// One contract for every key-value store: the memory store always, Redis when
// GATEHOUSE_TEST_REDIS_URL names one. Code written against the memory store in embedded
// mode must behave the same when an operator turns Redis on.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Kv } from './kv.ts';
import { createMemoryKv } from './kv-memory.ts';
import { createRedisKv, deleteKeysWithPrefix } from './kv-redis.ts';

interface StoreOptions {
  onError?: (error: unknown) => void;
}

interface KvHarness {
  /** A fresh store under the prefix. */
  make(prefix: string, options?: StoreOptions): Promise<Kv>;
  /** Another handle on the same data as `store`, as a second Gatehouse instance holds it. */
  peer(store: Kv, prefix: string): Promise<Kv>;
  /** Removes whatever the run left under its prefix. */
  cleanup(prefix: string): Promise<void>;
}

/** Polls until the check passes; no fixed sleeps, so a slow machine only means a slower test. */
async function eventually(check: () => unknown | Promise<unknown>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(10);
    }
  }
}

function recorder() {
  const received: string[] = [];
  return { received, handler: (message: string) => void received.push(message) };
}

export function describeKvContract(name: string, harness: KvHarness): void {
  describe(`${name} key-value store`, () => {
    const runPrefix = `gatehouse-test:${randomUUID()}:`;
    const opened: Kv[] = [];

    async function open(options?: StoreOptions & { prefix?: string }): Promise<Kv> {
      const store = await harness.make(options?.prefix ?? runPrefix, options);
      opened.push(store);
      return store;
    }

    async function peerOf(store: Kv): Promise<Kv> {
      const peer = await harness.peer(store, runPrefix);
      opened.push(peer);
      return peer;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    afterAll(async () => {
      await harness.cleanup(runPrefix);
    });

    it('is reachable', async () => {
      const kv = await open();
      expect(await kv.ping()).toBe(true);
    });

    it('gets what was set, overwrites, and deletes', async () => {
      const kv = await open();
      expect(await kv.get('basic')).toBeNull();
      await kv.set('basic', 'one');
      expect(await kv.get('basic')).toBe('one');
      await kv.set('basic', 'two');
      expect(await kv.get('basic')).toBe('two');
      await kv.set('other', 'x');
      await kv.del('basic', 'other', 'never-existed');
      expect(await kv.get('basic')).toBeNull();
      expect(await kv.get('other')).toBeNull();
      await kv.del();
    });

    it('forgets a key once its TTL has passed', async () => {
      const kv = await open();
      await kv.set('expiring', 'soon', 150);
      await kv.set('lasting', 'stays');
      await eventually(async () => expect(await kv.get('expiring')).toBeNull());
      expect(await kv.ttl('expiring')).toBeNull();
      expect(await kv.get('lasting')).toBe('stays');
    });

    it('drops the TTL when a key is set again without one', async () => {
      const kv = await open();
      await kv.set('retimed', 'a', 100);
      await kv.set('retimed', 'b');
      expect(await kv.ttl('retimed')).toBeNull();
      await sleep(150);
      expect(await kv.get('retimed')).toBe('b');
    });

    it('reports the remaining TTL, and null for absent or lasting keys', async () => {
      const kv = await open();
      expect(await kv.ttl('ttl-absent')).toBeNull();
      await kv.set('ttl-lasting', 'v');
      expect(await kv.ttl('ttl-lasting')).toBeNull();
      await kv.set('ttl-timed', 'v', 10_000);
      const remaining = await kv.ttl('ttl-timed');
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThanOrEqual(10_000);
    });

    it('refuses TTLs that are not positive', async () => {
      const kv = await open();
      await expect(kv.set('bad-ttl', 'v', 0)).rejects.toThrow(RangeError);
      await expect(kv.setIfAbsent('bad-ttl', 'v', -1)).rejects.toThrow(RangeError);
      await expect(kv.incr('bad-ttl', Number.NaN)).rejects.toThrow(RangeError);
      expect(await kv.get('bad-ttl')).toBeNull();
    });

    it('lets exactly one of ten concurrent setIfAbsent calls from two instances win', async () => {
      const a = await open();
      const b = await peerOf(a);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).setIfAbsent('lock', `owner-${i}`, 10_000),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await a.get('lock')).toBe(`owner-${results.indexOf(true)}`);
      expect(await a.setIfAbsent('lock', 'late', 10_000)).toBe(false);
    });

    it('lets setIfAbsent succeed again once the previous holder expired', async () => {
      const kv = await open();
      expect(await kv.setIfAbsent('marker', 'first', 100)).toBe(true);
      expect(await kv.setIfAbsent('marker', 'second', 100)).toBe(false);
      await eventually(async () =>
        expect(await kv.setIfAbsent('marker', 'third', 10_000)).toBe(true),
      );
      expect(await kv.get('marker')).toBe('third');
    });

    it('replaces a key with setIfPresent only while it exists, with the new TTL', async () => {
      const kv = await open();
      expect(await kv.setIfPresent('session', 'resurrected', 10_000)).toBe(false);
      expect(await kv.get('session')).toBeNull();
      await kv.set('session', 'first', 100);
      expect(await kv.setIfPresent('session', 'second', 10_000)).toBe(true);
      expect(await kv.get('session')).toBe('second');
      expect(await kv.ttl('session')).toBeGreaterThan(1_000);
      await kv.del('session');
      expect(await kv.setIfPresent('session', 'third', 10_000)).toBe(false);
      expect(await kv.get('session')).toBeNull();
      await expect(kv.setIfPresent('session', 'x', 0)).rejects.toThrow(RangeError);
    });

    it('counts in a fixed window: later increments do not extend it', async () => {
      const kv = await open();
      expect(await kv.incr('window', 1_000)).toBe(1);
      // A much longer TTL on later calls must be ignored, not applied.
      expect(await kv.incr('window', 600_000)).toBe(2);
      expect(await kv.incr('window', 600_000)).toBe(3);
      const remaining = await kv.ttl('window');
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThanOrEqual(1_000);
      expect(await kv.get('window')).toBe('3');
    });

    it('starts a new window at 1 after the old one expired', async () => {
      const kv = await open();
      expect(await kv.incr('short-window', 100)).toBe(1);
      expect(await kv.incr('short-window', 100)).toBe(2);
      await eventually(async () => expect(await kv.get('short-window')).toBeNull());
      expect(await kv.incr('short-window', 10_000)).toBe(1);
    });

    it('counts every one of many concurrent increments from two instances', async () => {
      const a = await open();
      const b = await peerOf(a);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).incr('busy', 10_000)),
      );
      expect(await a.get('busy')).toBe('20');
      expect(await a.ttl('busy')).not.toBeNull();
    });

    it('refuses to increment a value that is not an integer', async () => {
      const kv = await open();
      await kv.set('word', 'hello');
      await expect(kv.incr('word', 1_000)).rejects.toThrow();
      expect(await kv.get('word')).toBe('hello');
    });

    it('delivers messages published by one instance to subscribers on another', async () => {
      const a = await open();
      const b = await peerOf(a);
      const onB = recorder();
      const onA = recorder();
      await b.subscribe('revocations', onB.handler);
      await a.subscribe('revocations', onA.handler);
      await a.publish('revocations', 'session-1');
      await eventually(() => expect(onB.received).toEqual(['session-1']));
      await eventually(() => expect(onA.received).toEqual(['session-1']));
    });

    it('delivers to every subscriber of a channel on one store, in publishing order', async () => {
      const kv = await open();
      const first = recorder();
      const second = recorder();
      const otherChannel = recorder();
      await kv.subscribe('fan-out', first.handler);
      await kv.subscribe('fan-out', second.handler);
      await kv.subscribe('elsewhere', otherChannel.handler);
      const messages = Array.from({ length: 20 }, (_, i) => `m${i}`);
      for (const message of messages) await kv.publish('fan-out', message);
      await eventually(() => expect(first.received).toEqual(messages));
      await eventually(() => expect(second.received).toEqual(messages));
      expect(otherChannel.received).toEqual([]);
    });

    it('never runs a handler inside the publish call', async () => {
      const kv = await open();
      const { received, handler } = recorder();
      await kv.subscribe('async', handler);
      const publishing = kv.publish('async', 'later');
      expect(received).toEqual([]);
      await publishing;
      await eventually(() => expect(received).toEqual(['later']));
    });

    it('stops delivering to a handler once it unsubscribed', async () => {
      const kv = await open();
      const leaving = recorder();
      const staying = recorder();
      const unsubscribe = await kv.subscribe('news', leaving.handler);
      await kv.subscribe('news', staying.handler);
      await kv.publish('news', 'before');
      await eventually(() => expect(leaving.received).toEqual(['before']));
      await unsubscribe();
      await unsubscribe();
      await kv.publish('news', 'after');
      // The other subscriber getting it proves the message went out.
      await eventually(() => expect(staying.received).toEqual(['before', 'after']));
      expect(leaving.received).toEqual(['before']);
    });

    it('resumes delivery when a channel is subscribed again after everyone left', async () => {
      const kv = await open();
      const first = recorder();
      const unsubscribe = await kv.subscribe('again', first.handler);
      await unsubscribe();
      const second = recorder();
      await kv.subscribe('again', second.handler);
      await kv.publish('again', 'hello');
      await eventually(() => expect(second.received).toEqual(['hello']));
      expect(first.received).toEqual([]);
    });

    it('keeps stores with different prefixes apart, for keys and channels', async () => {
      const a = await open({ prefix: `${runPrefix}a:` });
      const b = await open({ prefix: `${runPrefix}b:` });
      await a.set('shared-name', 'from-a');
      expect(await b.get('shared-name')).toBeNull();
      expect(await b.setIfAbsent('shared-name', 'from-b', 10_000)).toBe(true);
      expect(await a.get('shared-name')).toBe('from-a');
      await b.del('shared-name');
      expect(await a.get('shared-name')).toBe('from-a');

      const onA = recorder();
      const onB = recorder();
      await a.subscribe('events', onA.handler);
      await b.subscribe('events', onB.handler);
      await a.publish('events', 'for-a');
      await eventually(() => expect(onA.received).toEqual(['for-a']));
      await b.publish('events', 'for-b');
      // B's own message arriving means A's, sent earlier, would have arrived first.
      await eventually(() => expect(onB.received).toEqual(['for-b']));
      expect(onA.received).toEqual(['for-a']);
    });

    it('keeps delivering to other handlers, and later messages, when a handler throws', async () => {
      const errors: unknown[] = [];
      const kv = await open({ onError: (error) => errors.push(error) });
      const before = recorder();
      const after = recorder();
      await kv.subscribe('fragile', before.handler);
      await kv.subscribe('fragile', () => {
        throw new Error('handler bug');
      });
      await kv.subscribe('fragile', after.handler);
      await kv.publish('fragile', 'one');
      await kv.publish('fragile', 'two');
      await eventually(() => expect(after.received).toEqual(['one', 'two']));
      expect(before.received).toEqual(['one', 'two']);
      expect(errors).toHaveLength(2);
      expect((errors[0] as Error).message).toBe('handler bug');
      expect(await kv.ping()).toBe(true);
    });

    it('stores hostile keys, values and channel names intact', async () => {
      const kv = await open();
      const keys = [
        'ключ 🔑 鍵',
        'line\nbreak\r\nand\0nul',
        'k'.repeat(10_240),
        'glob*?[chars]\\',
        ' ',
        '',
      ];
      for (const [i, key] of keys.entries()) await kv.set(key, `value-${i}`);
      for (const [i, key] of keys.entries()) expect(await kv.get(key)).toBe(`value-${i}`);
      // A glob-looking key is a literal, never a pattern matching its neighbours.
      await kv.del('glob*?[chars]\\');
      expect(await kv.get('k'.repeat(10_240))).toBe('value-2');
      await kv.set('empty-value', '');
      expect(await kv.get('empty-value')).toBe('');
      await kv.set('multi-line', 'a\nb\r\nc 🎉');
      expect(await kv.get('multi-line')).toBe('a\nb\r\nc 🎉');

      const exact = recorder();
      const lookalike = recorder();
      await kv.subscribe('chan*nel\n✉', exact.handler);
      await kv.subscribe('chan?nel\n✉', lookalike.handler);
      await kv.publish('chan*nel\n✉', 'x'.repeat(10_240));
      await eventually(() => expect(exact.received).toEqual(['x'.repeat(10_240)]));
      expect(lookalike.received).toEqual([]);
    });

    it('can be closed twice and refuses work afterwards', async () => {
      const kv = await open();
      const { handler } = recorder();
      const unsubscribe = await kv.subscribe('closing', handler);
      await kv.close();
      await kv.close();
      expect(await kv.ping()).toBe(false);
      await expect(kv.get('anything')).rejects.toThrow();
      await unsubscribe();
    });
  });
}

describeKvContract('memory', {
  make: async (prefix, options) => createMemoryKv({ prefix, ...options }),
  // Embedded Gatehouse instances share one store object; that is what makes them peers.
  peer: async (store) => store,
  cleanup: async () => {},
});

describe('memory key-value store with an injected clock', () => {
  it('expires a key exactly when its TTL has elapsed', async () => {
    let now = 1_000_000;
    const kv = createMemoryKv({ clock: () => now });
    await kv.set('k', 'v', 500);
    await kv.incr('counter', 500);
    now += 499;
    expect(await kv.get('k')).toBe('v');
    expect(await kv.ttl('k')).toBe(1);
    expect(await kv.incr('counter', 500)).toBe(2);
    now += 1;
    expect(await kv.get('k')).toBeNull();
    expect(await kv.incr('counter', 500)).toBe(1);
    await kv.close();
  });
});

const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
if (redisUrl) {
  // No reachability check and skip: with the variable set, an unreachable Redis fails here.
  describeKvContract('Redis', {
    make: (prefix, options) => createRedisKv({ url: redisUrl, prefix, ...options }),
    peer: (_store, prefix) => createRedisKv({ url: redisUrl, prefix }),
    cleanup: (prefix) => deleteKeysWithPrefix(redisUrl, prefix),
  });

  describe('deleteKeysWithPrefix', () => {
    const runPrefix = `gatehouse-test:${randomUUID()}:`;

    afterAll(async () => {
      await deleteKeysWithPrefix(redisUrl, runPrefix);
    });

    it('deletes only keys under the prefix, reading glob characters literally', async () => {
      const globby = await createRedisKv({ url: redisUrl, prefix: `${runPrefix}x*` });
      const neighbour = await createRedisKv({ url: redisUrl, prefix: `${runPrefix}xy` });
      try {
        for (let i = 0; i < 1_500; i++) await globby.set(`key-${i}`, 'v');
        await neighbour.set('key-0', 'keep');
        await deleteKeysWithPrefix(redisUrl, `${runPrefix}x*`);
        expect(await globby.get('key-0')).toBeNull();
        expect(await globby.get('key-1499')).toBeNull();
        expect(await neighbour.get('key-0')).toBe('keep');
      } finally {
        await globby.close();
        await neighbour.close();
      }
    });

    it('refuses an empty prefix', async () => {
      await expect(deleteKeysWithPrefix(redisUrl, '')).rejects.toThrow(/prefix is empty/);
    });
  });
}

// These need no Redis: nothing listens on port 1, which is the point.
describe('createRedisKv when Redis is unreachable', () => {
  it('rejects with a message naming the server instead of hanging', async () => {
    await expect(createRedisKv({ url: 'redis://127.0.0.1:1' })).rejects.toThrow(
      'cannot reach Redis at redis://127.0.0.1:1',
    );
  });

  it('leaves the password out of the message', async () => {
    const error = await createRedisKv({ url: 'redis://user:s3cret@127.0.0.1:1' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('cannot reach Redis');
    expect(message).toContain('redis://user@127.0.0.1:1');
    expect(message).not.toContain('s3cret');
  });
});
