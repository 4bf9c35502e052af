import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStores, storageMode, type TestStores } from '../testing/test-gatehouse.ts';
import { createThrottle } from './throttle.ts';

let stores: TestStores;
beforeAll(async () => {
  stores = await createTestStores();
});
afterAll(() => stores?.destroy());

describe(`throttle (${storageMode()})`, () => {
  it('locks an account after the free failures, with a back-off that doubles and is capped', async () => {
    const t = createThrottle({
      kv: stores.kv,
      config: { freeFailuresPerAccount: 3, maxLockMs: 4000 },
    });
    for (let i = 0; i < 3; i++) {
      await t.failure('login', 'victim', '198.51.100.1');
      expect((await t.check('login', 'victim', '198.51.100.1')).allowed).toBe(true);
    }
    await t.failure('login', 'victim', '198.51.100.1');
    const first = await t.check('login', 'victim', '198.51.100.1');
    expect(first).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // The lock applies to the account from every address...
    expect((await t.check('login', 'victim', '203.0.113.9')).allowed).toBe(false);
    // ...and is short: it grows per failure but never past the cap.
    for (let i = 0; i < 10; i++) await t.failure('login', 'victim', '198.51.100.1');
    const capped = await t.check('login', 'victim', '198.51.100.1');
    expect(capped.allowed).toBe(false);
    expect(capped.allowed === false && capped.retryAfterSeconds).toBeLessThanOrEqual(4);
    // Other accounts are untouched.
    expect((await t.check('login', 'bystander', '203.0.113.9')).allowed).toBe(true);
  });

  it('lets the lock expire, and a success clears the account', async () => {
    const t = createThrottle({
      kv: stores.kv,
      config: { freeFailuresPerAccount: 1, maxLockMs: 200 },
    });
    await t.failure('login', 'sleepy', '198.51.100.2');
    expect((await t.check('login', 'sleepy', '198.51.100.2')).allowed).toBe(true); // the free one
    await t.failure('login', 'sleepy', '198.51.100.2');
    expect((await t.check('login', 'sleepy', '198.51.100.2')).allowed).toBe(false);
    await expect
      .poll(async () => (await t.check('login', 'sleepy', '198.51.100.2')).allowed, {
        timeout: 3000,
        interval: 50,
      })
      .toBe(true);
    // After a success the count starts again: one failure is free once more.
    await t.success('login', 'sleepy', '198.51.100.2');
    await t.failure('login', 'sleepy', '198.51.100.2');
    expect((await t.check('login', 'sleepy', '198.51.100.2')).allowed).toBe(true);
  });

  it('shuts out an address that fails too often, across accounts', async () => {
    const t = createThrottle({
      kv: stores.kv,
      config: { maxFailuresPerAddress: 5, freeFailuresPerAccount: 100 },
    });
    for (let i = 0; i < 5; i++) await t.failure('login', `user${i}`, '192.0.2.66');
    const verdict = await t.check('login', 'someone-else', '192.0.2.66');
    expect(verdict.allowed).toBe(false);
    expect((await t.check('login', 'someone-else', '192.0.2.67')).allowed).toBe(true);
  });

  it('treats look-alike spellings of a login as one account', async () => {
    const t = createThrottle({ kv: stores.kv, config: { freeFailuresPerAccount: 0 } });
    await t.failure('login', 'ＭＡＬＬＯＲＹ', '192.0.2.7');
    expect((await t.check('login', 'mallory', '192.0.2.8')).allowed).toBe(false);
  });

  it('shuts out an address after its guesses that name no account, until the window ends', async () => {
    const t = createThrottle({ kv: stores.kv });
    for (let i = 0; i < 3; i++) {
      expect((await t.checkAddress('user-code', '192.0.2.20', 3)).allowed).toBe(true);
      await t.failureAt('user-code', '192.0.2.20', 60_000);
    }
    const verdict = await t.checkAddress('user-code', '192.0.2.20', 3);
    expect(verdict.allowed).toBe(false);
    expect(verdict.allowed === false && verdict.retryAfterSeconds).toBeGreaterThan(0);
    expect(verdict.allowed === false && verdict.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Another address, and the same address for another scope, are untouched.
    expect((await t.checkAddress('user-code', '192.0.2.21', 3)).allowed).toBe(true);
    expect((await t.check('login', 'anyone', '192.0.2.20')).allowed).toBe(true);
    // The window ends: the address may guess again.
    await t.failureAt('user-code', '192.0.2.22', 200);
    expect((await t.checkAddress('user-code', '192.0.2.22', 1)).allowed).toBe(false);
    await expect
      .poll(async () => (await t.checkAddress('user-code', '192.0.2.22', 1)).allowed, {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(true);
  });

  it('counts plain hits per address', async () => {
    const t = createThrottle({ kv: stores.kv });
    expect((await t.hit('register', '192.0.2.9', 2, 60_000)).allowed).toBe(true);
    expect((await t.hit('register', '192.0.2.9', 2, 60_000)).allowed).toBe(true);
    expect((await t.hit('register', '192.0.2.9', 2, 60_000)).allowed).toBe(false);
  });
});
