// Sign-in storms: password hashing is bounded (a pool smaller than the cores, a bounded queue),
// and a sign-in that finds the queue full gets a clear 503 with Retry-After, a page for
// browsers and JSON for scripts, never a stack trace.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASHING_RETRY_AFTER_SECONDS } from '../crypto/passwords.ts';
import { createInjectClient } from '../testing/inject-client.ts';
import { createTestGatehouse, storageMode, type TestGatehouse } from '../testing/test-gatehouse.ts';

const PASSWORD = 'correct horse battery staple';
// Costly enough that a hash is still running when the next sign-ins arrive.
const SLOW = { memoryCost: 32 * 1024, timeCost: 4, parallelism: 1 };
const STORM = 8;

let t: TestGatehouse;

beforeAll(async () => {
  t = await createTestGatehouse({
    passwordParams: SLOW,
    // One hash at a time, one waiting: of eight sign-ins at once, most find the queue full.
    passwordHashing: { concurrency: 1, maxQueued: 1 },
  });
  await t.gh.accounts.create({ username: 'storm', email: 'storm@example.org', password: PASSWORD });
});
afterAll(async () => {
  await t?.close();
});

/** Eight clients that have each loaded the login form, ready to post at once. */
async function clients(headers: Record<string, string>) {
  const list = [];
  for (let i = 0; i < STORM; i++) {
    const client = createInjectClient(t.app, { ip: `192.0.2.${i + 10}`, headers });
    await client.get('/login');
    list.push(client);
  }
  return list;
}

function expectNoInternals(body: string) {
  expect(body).not.toMatch(/\n\s+at |PasswordHashingBusyError|passwords\.ts|argon2/);
}

describe(`password hashing under a sign-in storm (${storageMode()})`, () => {
  it('answers a browser 503 with Retry-After and a page when the queue is full; the rest sign in', async () => {
    const list = await clients({});
    const answers = await Promise.all(list.map((c) => c.signIn('storm', PASSWORD)));
    const busy = answers.filter((r) => r.statusCode === 503);
    const signedIn = answers.filter((r) => r.statusCode === 303);
    expect(busy.length).toBeGreaterThan(0);
    expect(signedIn.length).toBeGreaterThan(0);
    expect(busy.length + signedIn.length).toBe(STORM);
    for (const res of busy) {
      expect(res.headers['retry-after']).toBe(String(HASHING_RETRY_AFTER_SECONDS));
      expect(String(res.headers['content-type'])).toContain('text/html');
      expect(res.body).toContain('Try again in a few seconds');
      expectNoInternals(res.body);
    }
    // Refused for being busy is not a failed attempt: the same member signs in right after.
    const again = await list[STORM - 1]!.signIn('storm', PASSWORD);
    expect(again.statusCode).toBe(303);
  });

  it('answers a script JSON with code BUSY and Retry-After', async () => {
    const list = await clients({ accept: 'application/json' });
    const answers = await Promise.all(list.map((c) => c.signIn('storm', PASSWORD)));
    const busy = answers.filter((r) => r.statusCode === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const res of busy) {
      expect(res.headers['retry-after']).toBe(String(HASHING_RETRY_AFTER_SECONDS));
      expect(res.json()).toEqual({
        error: {
          code: 'BUSY',
          message:
            'Gatehouse is checking many sign-ins at once just now. Try again in a few seconds.',
        },
      });
      expectNoInternals(res.body);
    }
  });
});
