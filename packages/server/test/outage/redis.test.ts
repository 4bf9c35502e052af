// The Redis store against a Redis this test stops, freezes and starts itself: commands fail
// quickly as STORE_UNAVAILABLE instead of waiting, and a subscription lost with the server is
// restored when it comes back, with the gap reported. Runs once, in the embedded project.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/store/kv.ts';
import { createRedisKv } from '../../src/store/kv-redis.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { type OwnRedis, sleep, startRedis } from './processes.ts';

let dir: string;
let redis: OwnRedis | null = null;
let a: Kv;
let b: Kv;

beforeAll(async () => {
  if (storageMode() === 'postgres+redis') return;
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  redis = await startRedis(dir);
  a = await createRedisKv({ url: redis.url, onError: () => {} });
  b = await createRedisKv({ url: redis.url, onError: () => {} });
});
afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean | Promise<boolean>) {
  while (!(await check())) await sleep(20);
}

describe.skipIf(storageMode() === 'postgres+redis')(
  'the Redis store through an outage (own Redis; runs in the embedded project)',
  () => {
    it('fails commands at once while Redis is stopped, and resubscribes after, reporting the gap', async () => {
      const received: string[] = [];
      const hooks: string[] = [];
      await b.subscribe('events', (m) => received.push(m), {
        onLost: () => hooks.push('lost'),
        onGap: () => hooks.push('gap'),
      });
      await a.publish('events', 'before');
      await until(() => received.length === 1);

      await redis!.stop();
      await until(() => hooks.includes('lost'));
      const started = performance.now();
      await expect(a.get('k')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(a.publish('events', 'lost')).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      console.log(`commands refused in ${(performance.now() - started).toFixed(1)} ms`);

      await redis!.start();
      await until(() => hooks.includes('gap'));
      await until(() => a.ping()); // a's command connection reconnects on its own schedule
      await a.publish('events', 'after');
      await until(() => received.length === 2);
      expect(received).toEqual(['before', 'after']);
      expect(hooks).toEqual(['lost', 'gap']);
    });

    it('fails a command to a Redis that does not answer after its timeout, not never', async () => {
      await a.set('k', 'v');
      redis!.pause();
      try {
        const started = performance.now();
        await expect(a.get('k')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        console.log(
          `a frozen Redis is given up on after ${(performance.now() - started).toFixed(0)} ms`,
        );
      } finally {
        redis!.resume();
      }
      expect(await a.get('k')).toBe('v');
    });
  },
);
