// Limits on everything that guesses, kept in the shared store so they hold across instances.
//
// Sign-in has two limits. Per client address: a fixed number of failures per window, then 429
// until the window ends — an attacker's address is shut out, nobody else's. Per account: after
// a few failures each further one locks password sign-in for a back-off that doubles, capped
// low, so an attacker who knows a username can slow its owner down but never lock them out
// for long. The account key is the login as typed, so the answer is the same whether or not
// the account exists.
//
// Guesses that name no account (device user codes) are counted per address only.

import { createHash } from 'node:crypto';
import type { Kv } from '../store/kv.ts';

export interface ThrottleConfig {
  windowMs: number;
  maxFailuresPerAddress: number;
  freeFailuresPerAccount: number;
  maxLockMs: number;
}

export const DEFAULT_THROTTLE: ThrottleConfig = {
  windowMs: 15 * 60_000,
  maxFailuresPerAddress: 50,
  freeFailuresPerAccount: 5,
  maxLockMs: 60_000,
};

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Store keys never hold the raw login or address. */
function digest(value: string): string {
  return createHash('sha256')
    .update(value.normalize('NFKC').toLowerCase())
    .digest('base64url')
    .slice(0, 22);
}

export function createThrottle(deps: { kv: Kv; config?: Partial<ThrottleConfig> }) {
  const { kv } = deps;
  const config = { ...DEFAULT_THROTTLE, ...deps.config };
  const addressKey = (scope: string, address: string) =>
    `throttle:${scope}:addr:${digest(address)}`;
  const keys = (scope: string, account: string, address: string) => ({
    address: addressKey(scope, address),
    failures: `throttle:${scope}:acct:${digest(account)}`,
    lock: `throttle:${scope}:lock:${digest(account)}`,
  });

  async function retryAfter(key: string): Promise<number> {
    const ms = (await kv.ttl(key)) ?? config.windowMs;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** May this address guess again? `limit` failures (see failureAt) shut it out. */
  async function checkAddress(
    scope: string,
    address: string,
    limit: number,
  ): Promise<ThrottleVerdict> {
    const key = addressKey(scope, address);
    const failures = await kv.get(key);
    if (failures !== null && Number(failures) >= limit) {
      return { allowed: false, retryAfterSeconds: await retryAfter(key) };
    }
    return { allowed: true };
  }

  return {
    /** May this attempt proceed? Call before checking the password. */
    async check(scope: string, account: string, address: string): Promise<ThrottleVerdict> {
      const k = keys(scope, account, address);
      const [perAddress, lock] = await Promise.all([
        checkAddress(scope, address, config.maxFailuresPerAddress),
        kv.get(k.lock),
      ]);
      if (!perAddress.allowed) return perAddress;
      if (lock !== null) return { allowed: false, retryAfterSeconds: await retryAfter(k.lock) };
      return { allowed: true };
    },

    async failure(scope: string, account: string, address: string): Promise<void> {
      const k = keys(scope, account, address);
      const [, failures] = await Promise.all([
        kv.incr(k.address, config.windowMs),
        kv.incr(k.failures, config.windowMs),
      ]);
      // The first freeFailuresPerAccount failures cost nothing; each later one locks for 1 s, 2 s, 4 s…
      const over = failures - config.freeFailuresPerAccount;
      if (over > 0) {
        const lockMs = Math.min(1000 * 2 ** (over - 1), config.maxLockMs);
        await kv.set(k.lock, '1', lockMs);
      }
    },

    /** A success clears the account's failures (not the address's: one right guess of many proves little). */
    async success(scope: string, account: string, address: string): Promise<void> {
      const k = keys(scope, account, address);
      await kv.del(k.failures, k.lock);
    },

    checkAddress,

    /** A wrong guess from an address; the window starts at its first failure. */
    async failureAt(scope: string, address: string, windowMs: number): Promise<void> {
      await kv.incr(addressKey(scope, address), windowMs);
    },

    /** A plain counter for actions that are not guesses but should not be floods (registration). */
    async hit(
      scope: string,
      address: string,
      limit: number,
      windowMs: number,
    ): Promise<ThrottleVerdict> {
      const key = addressKey(scope, address);
      const n = await kv.incr(key, windowMs);
      return n > limit
        ? { allowed: false, retryAfterSeconds: await retryAfter(key) }
        : { allowed: true };
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
