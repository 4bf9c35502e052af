// The memo of verified session cookies (sessions.verify): what it skips (the token parse and
// the hash comparison) must never let through a cookie that the full check would refuse. Two
// instances share the stores (PGlite + memory, or Postgres + Redis); one revokes, the other
// must refuse on its next request, through sessions.verify, forward auth and HTTP.

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../config/forward-auth.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
let clock = Date.parse('2026-12-02T12:00:00Z');
const now = () => clock;

const forwardAuth = parseForwardAuth(
  { domains: ['example.org'], rules: [{ host: '*.example.org', policy: 'signed_in' }] },
  'test',
);

let stores: TestStores;
let a: TestGatehouse;
let b: TestGatehouse;
let userId: string;
const urls: string[] = [];

beforeAll(async () => {
  stores = await createTestStores();
  const overrides = {
    issuer: 'https://auth.example.org',
    forwardAuth,
    sessions: { idleTimeoutMs: 2 * HOUR, absoluteTimeoutMs: 10 * HOUR },
  };
  a = await createTestGatehouse({ stores, now, overrides });
  b = await createTestGatehouse({ stores, now, overrides });
  for (const t of [a, b]) {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    urls.push(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`);
  }
  userId = (await a.gh.accounts.create({ username: 'memo', email: 'memo@example.org' })).id;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await stores?.destroy();
});

const cookieName = () => (a.config.dev ? 'gatehouse_session' : '__Host-gatehouse_session');

/** GET /auth/verify over a real socket (the fast path), as a proxy asks. */
async function verifyOver(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/auth/verify`, {
    headers: { cookie: `${cookieName()}=${token}`, 'x-original-url': 'https://wiki.example.org/' },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Warms every cache on both instances: the memo, the session copy, the decision. */
async function warm(token: string) {
  for (const t of [a, b]) {
    for (let i = 0; i < 3; i++) {
      expect(await t.gh.sessions.verify(token)).not.toBeNull();
      expect((await t.gh.principals.fromSessionToken(token))?.userId).toBe(userId);
    }
  }
  for (const url of urls)
    for (let i = 0; i < 3; i++) expect(await verifyOver(url, token)).toBe(200);
}

describe(`the memo of verified session cookies (${storageMode()})`, () => {
  it('is dropped on both instances when one revokes: the next request is refused', async () => {
    for (const [revoker, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const { token, session } = await a.gh.sessions.create(userId);
      await warm(token);
      await revoker.gh.sessions.revoke(session.id);
      // The other instance's next request over HTTP, no retry: refused.
      expect(await verifyOver(urls[revoker === a ? 1 : 0]!, token)).toBe(401);
      expect(await verifyOver(urls[revoker === a ? 0 : 1]!, token)).toBe(401);
      for (const t of [revoker, other]) {
        expect(await t.gh.sessions.verify(token)).toBeNull();
        expect(await t.gh.principals.fromSessionToken(token)).toBeNull();
      }
    }
  });

  it("is dropped when all of a member's sessions end (a password change) on the other instance", async () => {
    const first = await a.gh.sessions.create(userId);
    const second = await a.gh.sessions.create(userId);
    await warm(first.token);
    await warm(second.token);
    await b.gh.sessions.revokeAllForUser(userId, { except: second.session.id });
    expect(await verifyOver(urls[0]!, first.token)).toBe(401);
    expect(await verifyOver(urls[1]!, first.token)).toBe(401);
    expect(await a.gh.sessions.verify(first.token)).toBeNull();
    expect(await verifyOver(urls[0]!, second.token)).toBe(200);
    await a.gh.sessions.revoke(second.session.id);
  });

  it('never outlives the idle timeout', async () => {
    const { token } = await a.gh.sessions.create(userId);
    await warm(token);
    clock += 2 * HOUR + 1; // no activity since the memo entry was made
    expect(await a.gh.sessions.verify(token)).toBeNull();
    expect(await b.gh.sessions.verify(token)).toBeNull();
    expect(await verifyOver(urls[0]!, token)).toBe(401);
    expect(await verifyOver(urls[1]!, token)).toBe(401);
  });

  it('never outlives the absolute timeout, however active the session is', async () => {
    const { token } = await a.gh.sessions.create(userId);
    await warm(token);
    // Activity every 50 minutes keeps it from idling out, until its absolute end at 10 hours.
    for (let at = 50 * MINUTE; at < 10 * HOUR; at += 50 * MINUTE) {
      clock += 50 * MINUTE;
      expect(await a.gh.sessions.verify(token)).not.toBeNull();
      expect(await verifyOver(urls[1]!, token)).toBe(200);
    }
    clock += 50 * MINUTE;
    expect(await a.gh.sessions.verify(token)).toBeNull();
    expect(await verifyOver(urls[1]!, token)).toBe(401);
    expect(await b.gh.sessions.verify(token)).toBeNull();
  });

  it('keeps sliding expiry: activity seen through the memo is still written back', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    await warm(token);
    clock += 90 * MINUTE;
    expect(await b.gh.sessions.verify(token)).not.toBeNull(); // activity, written back...
    const lastSeen = async () =>
      (await a.gh.sessions.listForUser(userId)).find((s) => s.id === session.id)?.lastSeenAt;
    // ...off the request's path: wait until it has landed.
    await expect.poll(async () => (await lastSeen())?.getTime()).toBe(clock);
    clock += 90 * MINUTE; // 3 h after sign-in, 1.5 h after the activity: alive
    expect(await a.gh.sessions.verify(token)).not.toBeNull();
    await a.gh.sessions.revoke(session.id);
  });

  it('matches the whole cookie: a tampered copy of a memoised cookie is refused', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    await warm(token);
    const last = token.at(-1) === 'a' ? 'b' : 'a';
    for (const bad of [`${token.slice(0, -1)}${last}`, `${token}x`, token.slice(0, -1)]) {
      expect(await a.gh.sessions.verify(bad)).toBeNull();
      expect(await verifyOver(urls[0]!, bad)).toBe(401);
    }
    expect(await a.gh.sessions.verify(token)).not.toBeNull();
    await a.gh.sessions.revoke(session.id);
  });
  // The event channel's gap (a revocation that may have been missed): sessions/outage.test.ts,
  // 'drops the memo of verified cookies when its event channel comes back after a gap'.
});
