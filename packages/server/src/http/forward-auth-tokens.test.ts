// API tokens at forward auth, with the real token and access subsystems: a token passes only
// with the `proxy` scope, and a rule's `perm:` terms see the token's scopes (those its member
// still holds), not every permission of the member, as the SDK does with a token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../config/forward-auth.ts';
import { createTestGatehouse, storageMode, type TestGatehouse } from '../testing/test-gatehouse.ts';

let t: TestGatehouse;
let userId: string;

beforeAll(async () => {
  t = await createTestGatehouse({
    overrides: {
      forwardAuth: parseForwardAuth(
        {
          rules: [
            {
              host: 'files.example.org',
              path: '/upload/*',
              groups: 'perm:upload:write',
              policy: 'signed_in',
            },
            { host: 'files.example.org', policy: 'signed_in' },
          ],
        },
        'test',
      ),
    },
  });
  userId = (await t.gh.accounts.create({ username: 'ada', email: 'ada@example.org' })).id;
  await t.gh.accounts.grantPermission(userId, 'upload:write');
  await t.gh.accounts.grantPermission(userId, 'upload:read');
});
afterAll(() => t?.close());

async function tokenWith(...scopes: string[]) {
  return (await t.gh.apiTokens.create(userId, { name: scopes.join(' '), scopes, expiresAt: null }))
    .token;
}

function verify(authorization: string, url = 'https://files.example.org/list') {
  return t.app.inject({
    url: '/auth/verify',
    headers: { authorization, 'x-original-url': url, accept: 'application/json' },
  });
}

const bearer = (token: string) => `Bearer ${token}`;
const basic = (token: string) => `Basic ${Buffer.from(`ada:${token}`).toString('base64')}`;

describe(`forward auth holds API tokens to their scopes (${storageMode()})`, () => {
  it('refuses a token without the proxy scope, as Bearer and as the Basic password', async () => {
    const token = await tokenWith('account:read', 'upload:write');
    for (const authorization of [bearer(token), basic(token)]) {
      const res = await verify(authorization);
      expect(res.statusCode).toBe(403);
      expect(res.headers['remote-user']).toBeUndefined();
      expect(res.body).toContain('"proxy" scope');
      // Refused again from the cache, the same way.
      expect((await verify(authorization)).statusCode).toBe(403);
    }
  });

  it('trusts a verified token no longer than it lives (the lease never outlasts its expiry)', async () => {
    const expiresAt = Date.now() + 3000;
    const { token } = await t.gh.apiTokens.create(userId, {
      name: 'short-lived',
      scopes: ['proxy'],
      expiresAt,
    });
    expect((await verify(bearer(token))).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, expiresAt + 200 - Date.now()));
    // Within the 30 s credential lease, but past the token's own expiry.
    expect((await verify(bearer(token))).statusCode).toBe(401);
  });

  it('lets a proxy-scoped token in as its member', async () => {
    const token = await tokenWith('proxy');
    for (const authorization of [bearer(token), basic(token)]) {
      const res = await verify(authorization);
      expect(res.statusCode).toBe(200);
      expect(res.headers['remote-user']).toBe('ada');
    }
  });

  it("evaluates perm: terms against the token's scopes, not the member's permissions", async () => {
    const narrow = await tokenWith('proxy', 'upload:read');
    expect((await verify(bearer(narrow), 'https://files.example.org/upload/x')).statusCode).toBe(
      403,
    );
    const wide = await tokenWith('proxy', 'upload:write');
    expect((await verify(bearer(wide), 'https://files.example.org/upload/x')).statusCode).toBe(200);
  });

  it('a scope the member no longer holds stops counting', async () => {
    const token = await tokenWith('proxy', 'upload:write');
    const url = 'https://files.example.org/upload/y';
    expect((await verify(bearer(token), url)).statusCode).toBe(200);
    await t.gh.accounts.revokePermission(userId, 'upload:write');
    expect((await verify(bearer(token), url)).statusCode).toBe(403);
  });
});
