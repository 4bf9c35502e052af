// Signing keys: sealed at rest, published before they sign, kept after they stop, reloaded by
// every instance sharing the stores. And the portal tiles that the client registry feeds.

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKeyFrom } from '../../src/crypto/secret-key.ts';
import { signingKeys } from '../../src/crypto/tables.ts';
import { KEY_RETENTION_MS } from '../../src/oidc/provider.ts';
import { createInjectClient } from '../../src/testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../src/testing/test-gatehouse.ts';

let t: TestGatehouse;
let second: TestGatehouse;

beforeAll(async () => {
  t = await createTestGatehouse();
  second = await createTestGatehouse({ stores: t.stores });
});
afterAll(async () => {
  await second?.close();
  await t?.close();
});

async function apiToken(app: TestGatehouse['app'], clientId: string, secret: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: 'grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.org',
  });
  expect(res.statusCode).toBe(200);
  return res.json().access_token as string;
}

async function publishedJwks(app: TestGatehouse['app']) {
  return (await app.inject({ url: '/oidc/jwks' })).json() as {
    keys: Array<{ kid: string; alg: string }>;
  };
}

describe(`signing keys (${storageMode()})`, () => {
  it('private keys are sealed with the secret key, not stored in the clear', async () => {
    const rows = await t.gh.stores.database.db.select().from(signingKeys);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rows) {
      expect(row.privateJwk).toMatch(/^v1\./);
      expect(row.privateJwk).not.toContain('"d"');
      expect(JSON.stringify(row.publicJwk)).not.toContain('"d"');
      expect(() =>
        secretKeyFrom('another-secret-key-that-is-long-enough!!').open(
          'signing-keys',
          row.privateJwk,
        ),
      ).toThrow();
    }
  });

  it('rotation signs with a key the cached JWKS already had, and old tokens still verify', async () => {
    const { client, secret } = await t.gh.clients.create({
      name: 'API',
      grantTypes: ['client_credentials'],
      resources: ['https://api.example.org'],
    });
    const cached = await publishedJwks(t.app);
    const before = await apiToken(t.app, client.clientId, secret!);
    const oldKid = decodeProtectedHeader(before).kid;

    const result = await t.gh.signingKeys.rotate(KEY_RETENTION_MS);
    await t.gh.events.emit({ type: 'keys.rotated' });
    await t.app.oidc.reloadKeys();
    await second.app.oidc.reloadKeys();

    for (const app of [t.app, second.app]) {
      const after = await apiToken(app, client.clientId, secret!);
      const newKid = decodeProtectedHeader(after).kid;
      expect(newKid).not.toBe(oldKid);
      expect(result.activated).toContain(newKid);
      // A relying party that fetched the JWKS before the rotation verifies the new token.
      await jwtVerify(after, createLocalJWKSet(cached as never), {
        audience: 'https://api.example.org',
      });
      // And the token signed before the rotation still verifies against the new JWKS.
      const now = await publishedJwks(app);
      expect(now.keys.map((k) => k.kid)).toContain(oldKid);
      await jwtVerify(before, createLocalJWKSet(now as never), {
        audience: 'https://api.example.org',
      });
    }
    const discovery = await t.app.inject({ url: '/oidc/jwks' });
    expect(discovery.headers.etag).not.toBe(undefined);
  });

  it('a retired key leaves the JWKS once its tokens have expired', async () => {
    await t.gh.signingKeys.rotate(KEY_RETENTION_MS);
    const retiredRows = (await t.gh.stores.database.db.select().from(signingKeys)).filter(
      (r) => r.state === 'retired',
    );
    expect(retiredRows.length).toBeGreaterThan(0);
    const later = await createTestGatehouse({
      stores: t.stores,
      now: () => Date.now() + KEY_RETENTION_MS + 60_000,
    });
    try {
      const kids = (await publishedJwks(later.app)).keys.map((k) => k.kid);
      for (const row of retiredRows) expect(kids).not.toContain(row.kid);
    } finally {
      await later.close();
    }
  });
});

describe(`the portal (${storageMode()})`, () => {
  it('shows a tile for each client with a launch URL, and none for clients without one', async () => {
    await t.gh.accounts.create({
      username: 'tiles',
      email: 'tiles@example.org',
      password: 'correct horse battery',
    });
    await t.gh.clients.create({
      name: 'Laser booking',
      redirectUris: ['https://laser.example.org/cb'],
      launchUrl: 'https://laser.example.org/',
      logoUri: 'https://laser.example.org/logo.png',
    });
    await t.gh.clients.create({
      name: 'Hidden backend',
      redirectUris: ['https://hidden.example.org/cb'],
    });
    await t.gh.clients.create({
      name: 'Board only',
      redirectUris: ['https://board.example.org/cb'],
      launchUrl: 'https://board.example.org/',
      accessRule: 'members/board',
    });
    const browser = createInjectClient(t.app);
    await browser.signIn('tiles', 'correct horse battery');
    const page = await browser.get('/');
    expect(page.body).toContain('Laser booking');
    expect(page.body).toContain('href="https://laser.example.org/"');
    expect(page.body).not.toContain('Hidden backend');
    expect(page.body).not.toContain('Board only');
  });
});
