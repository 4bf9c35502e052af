// What a client sees while a store is down: a quick 503 with Retry-After (JSON for the API and
// forward auth, a page that says to try again for browsers), nothing half done, /readyz naming
// the store, and forward auth still answering for sessions an instance holds.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PERMISSION } from '../accounts/accounts.ts';
import { parseForwardAuth } from '../config/forward-auth.ts';
import { createFlakyKv, type FlakyKv } from '../testing/flaky-kv.ts';
import { createInjectClient } from '../testing/inject-client.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';

const ISSUER = 'https://auth.example.org';
const COOKIE = '__Host-gatehouse_session';
const forwardAuth = parseForwardAuth(
  { domains: ['example.org'], rules: [{ host: 'wiki.example.org', policy: 'signed_in' }] },
  'test',
);

let stores: TestStores;
let kv: FlakyKv;
let t: TestGatehouse;
let adminToken: string;
let memberId: string;

beforeAll(async () => {
  stores = await createTestStores();
  kv = createFlakyKv(stores.kv);
  t = await createTestGatehouse({
    stores: { ...stores, kv },
    overrides: { issuer: ISSUER, forwardAuth },
  });
  const admin = await t.gh.accounts.create({ username: 'root', email: 'root@example.org' });
  await t.gh.accounts.grantPermission(admin.id, ADMIN_PERMISSION);
  adminToken = (
    await t.gh.apiTokens.create(admin.id, {
      name: 'ops',
      scopes: [ADMIN_PERMISSION],
      expiresAt: null,
    })
  ).token;
  memberId = (
    await t.gh.accounts.create({
      username: 'casey',
      email: 'casey@example.org',
      password: 'casey password 123',
    })
  ).id;
});
afterEach(() => kv.restore());
afterAll(async () => {
  await t?.close();
  await stores?.destroy();
});

function verify(token: string) {
  return t.app.inject({
    method: 'GET',
    url: '/auth/verify',
    headers: {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'wiki.example.org',
      'x-forwarded-uri': '/page',
      'x-forwarded-method': 'GET',
      cookie: `${COOKIE}=${token}`,
    },
  });
}

describe(`answers while a store is down (${storageMode()})`, () => {
  it('the OIDC endpoints answer 503 temporarily_unavailable with Retry-After, not a 500', async () => {
    const { client, secret } = await t.gh.clients.create({
      name: 'Device',
      public: false,
      grantTypes: ['client_credentials'],
    });
    kv.fail();
    const res = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials',
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(res.body).not.toContain('at ');
  });

  it('refuses an admin revocation with 503 and Retry-After, and leaves the session as it was', async () => {
    const { token, session } = await t.gh.sessions.create(memberId);
    kv.fail();
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/users/${memberId}/sessions/${session.id}`,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.json().error.code).toBe('STORE_UNAVAILABLE');
    expect(res.body).not.toMatch(/at .*\.ts|stack/i);
    kv.restore();
    expect((await t.gh.sessions.listForUser(memberId)).map((s) => s.id)).toContain(session.id);
    expect((await verify(token)).statusCode).toBe(200);
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/users/${memberId}/sessions/${session.id}`,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(again.statusCode).toBe(204);
    expect((await verify(token)).statusCode).toBe(401);
  });

  it('shows a browser a page that says to try again, not a JSON 500', async () => {
    const browser = createInjectClient(t.app);
    expect((await browser.get('/login')).statusCode).toBe(200);
    kv.fail();
    const res = await browser.signIn('casey', 'casey password 123');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Try again in a few seconds');
    expect(res.body).toContain('Temporarily unavailable');
  });

  it('offers a page read again when a store is down', async () => {
    // Signed in through another instance: this one must ask the store, which is down.
    const elsewhere = await createTestGatehouse({
      stores,
      overrides: { issuer: ISSUER, forwardAuth },
    });
    try {
      const { token } = await elsewhere.gh.sessions.create(memberId);
      kv.fail();
      const res = await t.app.inject({
        method: 'GET',
        url: '/account',
        headers: { accept: 'text/html', cookie: `${COOKIE}=${token}` },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.body).toMatch(/<a class="button button--primary" href="\/account">Try again<\/a>/);
    } finally {
      await elsewhere.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('keeps forward auth answering for a session it holds, and answers 503 for one it does not', async () => {
    const held = await t.gh.sessions.create(memberId);
    expect((await verify(held.token)).statusCode).toBe(200);
    // Signed in through another instance: this one has never seen the session.
    const elsewhere = await createTestGatehouse({
      stores,
      overrides: { issuer: ISSUER, forwardAuth },
    });
    try {
      const other = await elsewhere.gh.sessions.create(memberId);
      kv.fail();
      expect((await verify(held.token)).statusCode).toBe(200);
      const cold = await verify(other.token);
      expect(cold.statusCode).toBe(503);
      expect(cold.headers['retry-after']).toMatch(/^\d+$/);
      expect(cold.json().error.code).toBe('STORE_UNAVAILABLE');
    } finally {
      await elsewhere.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('reports each store on /readyz', async () => {
    kv.fail();
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ database: 'ok', store: 'unreachable' });
  });
});
