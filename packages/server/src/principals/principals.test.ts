// Who is asking, straight from the module: a session cookie and a bearer token (API token or
// JWT access token) each become one Principal or a refusal, the same for every caller, and a
// store that cannot answer is an error, never "nobody".

import { importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretToken } from '../crypto/secret-tokens.ts';
import { createFlakyKv, type FlakyKv } from '../testing/flaky-kv.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';
import { createPrincipals, GATEHOUSE_AUDIENCE, serviceAudience } from './principals.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ISSUER = 'https://auth.example.org';
const SERVICE = 'https://api.example.org';
let clock = Date.now();
const now = () => clock;

let stores: TestStores;
let kv: FlakyKv;
let t: TestGatehouse;
let aliceId: string;
let clientId: string;

beforeAll(async () => {
  stores = await createTestStores();
  kv = createFlakyKv(stores.kv);
  t = await createTestGatehouse({
    stores: { ...stores, kv },
    now,
    overrides: {
      issuer: ISSUER,
      sessions: { idleTimeoutMs: 2 * DAY, absoluteTimeoutMs: 10 * DAY },
    },
  });
  aliceId = (await t.gh.accounts.create({ username: 'alice', email: 'alice@example.org' })).id;
  clientId = (
    await t.gh.clients.create({
      name: 'Command line',
      grantTypes: ['client_credentials'],
      resources: [SERVICE],
    })
  ).client.clientId;
});
afterEach(() => kv.restore());
afterAll(async () => {
  await t?.close();
  await stores?.destroy();
});

async function member(username: string): Promise<string> {
  return (await t.gh.accounts.create({ username, email: `${username}@example.org` })).id;
}

async function apiToken(userId: string, scopes: string[], expiresAt: number | null = null) {
  return (await t.gh.apiTokens.create(userId, { name: 'script', scopes, expiresAt })).token;
}

/** A JWT access token as the provider issues it for SERVICE, signed with the current key. */
async function accessToken(claims: Record<string, unknown> = {}) {
  const key = (await t.gh.signingKeys.load()).provider.find(
    (k) => k.alg === 'RS256' && !k.key_ops,
  ) as JWK;
  const at = Math.floor(clock / 1000);
  return new SignJWT({
    sub: aliceId,
    iss: ISSUER,
    aud: SERVICE,
    iat: at,
    exp: at + 600,
    scope: 'openid',
    client_id: clientId,
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid!, typ: 'at+jwt' })
    .sign(await importJWK(key, 'RS256'));
}

/** Inputs no caller should ever get a principal for, whatever the audience. */
function hostile(token: string): unknown[] {
  return [
    undefined,
    null,
    42,
    { token },
    [token],
    '',
    ' ',
    'garbage',
    'a.b.c',
    token.slice(0, -1),
    `${token}x`,
    ` ${token}`,
    token.toUpperCase(),
    `${token}\n`,
    'x'.repeat(100_000),
    `${token}${'A'.repeat(10_000)}`,
  ];
}

describe(`fromSessionToken (${storageMode()})`, () => {
  it('answers with the session and its active member, who acts with their own permissions', async () => {
    const { token, session } = await t.gh.sessions.create(aliceId);
    const p = await t.gh.principals.fromSessionToken(token);
    expect(p).toMatchObject({ via: 'session', userId: aliceId, scopes: null });
    expect(p?.session.id).toBe(session.id);
    expect(p?.user.username).toBe('alice');
  });

  it('refuses malformed, forged, oversized and non-string cookies with null, without throwing', async () => {
    const { token, session } = await t.gh.sessions.create(aliceId);
    const forged = generateSecretToken('sess', session.id).token;
    const unknown = generateSecretToken('sess').token;
    const api = await apiToken(aliceId, ['account:read']);
    for (const bad of [...hostile(token), forged, unknown, api, token.replace('_sess_', '_api_')]) {
      expect(await t.gh.principals.fromSessionToken(bad)).toBeNull();
    }
    expect(await t.gh.principals.fromSessionToken(token)).not.toBeNull();
  });

  it('refuses a revoked session', async () => {
    const { token, session } = await t.gh.sessions.create(aliceId);
    await t.gh.sessions.revoke(session.id);
    expect(await t.gh.principals.fromSessionToken(token)).toBeNull();
  });

  it("refuses a disabled member's session, which still claims (forward auth's step) but does not resolve", async () => {
    const id = await member('dora');
    const { token } = await t.gh.sessions.create(id);
    await t.gh.accounts.setDisabled(id, true);
    expect(await t.gh.principals.fromSessionToken(token)).toBeNull();
    const claim = await t.gh.principals.sessionClaim(token);
    expect(claim?.userId).toBe(id);
    expect(await t.gh.principals.resolve(claim!)).toBeNull();
    await t.gh.accounts.setDisabled(id, false);
    expect((await t.gh.principals.fromSessionToken(token))?.userId).toBe(id);
  });

  it('keeps an active session alive (sliding expiry) and ends an idle one', async () => {
    const { token } = await t.gh.sessions.create(aliceId);
    clock += 1.5 * DAY;
    expect(await t.gh.principals.fromSessionToken(token)).not.toBeNull(); // activity noted
    clock += 1.5 * DAY;
    const p = await t.gh.principals.fromSessionToken(token);
    expect(p).not.toBeNull();
    expect(p!.session.lastSeenAt).toBeGreaterThan(p!.session.createdAt);
    clock += 2 * DAY + 1;
    expect(await t.gh.principals.fromSessionToken(token)).toBeNull();
  });

  it('ends a session at the absolute timeout however active it is', async () => {
    const { token } = await t.gh.sessions.create(aliceId);
    for (let day = 0; day < 9; day++) {
      clock += DAY;
      expect(await t.gh.principals.fromSessionToken(token)).not.toBeNull();
    }
    clock += DAY;
    expect(await t.gh.principals.fromSessionToken(token)).toBeNull();
  });

  it('throws STORE_UNAVAILABLE for a session it cannot look up while the store is down, never null', async () => {
    const held = await t.gh.sessions.create(aliceId);
    expect(await t.gh.principals.fromSessionToken(held.token)).not.toBeNull();
    // Signed in through another instance: this one has never seen the session.
    const elsewhere = await createTestGatehouse({ stores, now, overrides: { issuer: ISSUER } });
    try {
      const other = await elsewhere.gh.sessions.create(aliceId);
      kv.fail();
      await expect(t.gh.principals.fromSessionToken(other.token)).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      // One this instance holds, and heard no revocation of, is still served (sessions' grace).
      expect((await t.gh.principals.fromSessionToken(held.token))?.userId).toBe(aliceId);
    } finally {
      kv.restore();
      await elsewhere.close(); // shares the suite's stores, which it leaves open
    }
  });
});

describe(`fromBearer with API tokens (${storageMode()})`, () => {
  it("answers at Gatehouse's own audience with the token's id, scopes and expiry", async () => {
    const expiresAt = clock + DAY;
    const token = await apiToken(aliceId, ['account:read'], expiresAt);
    const p = await t.gh.principals.fromBearer(token, GATEHOUSE_AUDIENCE, {
      address: '192.0.2.7',
    });
    expect(p).toMatchObject({ via: 'api_token', userId: aliceId, scopes: ['account:read'] });
    if ('refused' in p || p.via !== 'api_token') throw new Error('expected an API token');
    expect(p.expiresAt).toBe(expiresAt);
    expect(p.user.username).toBe('alice');
    const [info] = (await t.gh.apiTokens.listForUser(aliceId)).filter((i) => i.id === p.tokenId);
    expect(info?.name).toBe('script');
  });

  it('holds an API token to its audience: a service takes it only with the proxy scope', async () => {
    const plain = await apiToken(aliceId, ['account:read']);
    const service = serviceAudience(SERVICE);
    expect(await t.gh.principals.fromBearer(plain, service)).toEqual({
      refused: 'insufficient_scope',
      userId: aliceId,
      scope: 'proxy',
    });
    const proxy = await apiToken(aliceId, ['account:read', 'proxy']);
    expect(await t.gh.principals.fromBearer(proxy, service)).toMatchObject({
      via: 'api_token',
      scopes: ['account:read', 'proxy'],
    });
    // Gatehouse's own API holds no token to the proxy scope.
    expect(await t.gh.principals.fromBearer(plain, GATEHOUSE_AUDIENCE)).toMatchObject({
      via: 'api_token',
    });
  });

  it('refuses malformed, forged, oversized and non-string tokens as invalid, at every audience', async () => {
    const token = await apiToken(aliceId, ['account:read', 'proxy']);
    const id = (await t.gh.principals.fromBearer(token, GATEHOUSE_AUDIENCE)) as { tokenId: string };
    const forged = generateSecretToken('api', id.tokenId).token;
    const session = (await t.gh.sessions.create(aliceId)).token;
    for (const audience of [GATEHOUSE_AUDIENCE, serviceAudience(SERVICE)]) {
      for (const bad of [...hostile(token), forged, generateSecretToken('api').token, session]) {
        expect(await t.gh.principals.fromBearer(bad, audience)).toEqual({ refused: 'invalid' });
      }
    }
  });

  it('refuses a revoked token and an expired one', async () => {
    const revoked = await apiToken(aliceId, ['account:read']);
    const found = (await t.gh.principals.fromBearer(revoked, GATEHOUSE_AUDIENCE)) as {
      tokenId: string;
    };
    await t.gh.apiTokens.revoke(found.tokenId);
    expect(await t.gh.principals.fromBearer(revoked, GATEHOUSE_AUDIENCE)).toEqual({
      refused: 'invalid',
    });
    const expiring = await apiToken(aliceId, ['account:read'], clock + HOUR);
    expect(await t.gh.principals.fromBearer(expiring, GATEHOUSE_AUDIENCE)).toMatchObject({
      via: 'api_token',
    });
    clock += HOUR;
    expect(await t.gh.principals.fromBearer(expiring, GATEHOUSE_AUDIENCE)).toEqual({
      refused: 'invalid',
    });
  });

  it("refuses a disabled member's token at every audience", async () => {
    const id = await member('erin');
    const token = await apiToken(id, ['account:read', 'proxy']);
    expect(await t.gh.principals.fromBearer(token, GATEHOUSE_AUDIENCE)).toMatchObject({
      userId: id,
    });
    await t.gh.accounts.setDisabled(id, true);
    for (const audience of [GATEHOUSE_AUDIENCE, serviceAudience(SERVICE)])
      expect(await t.gh.principals.fromBearer(token, audience)).toEqual({ refused: 'invalid' });
  });
});

describe(`fromBearer with JWT access tokens (${storageMode()})`, () => {
  it('answers at the service the token was issued for, as its member', async () => {
    const p = await t.gh.principals.fromBearer(
      await accessToken({ gid: 'grant-1' }),
      serviceAudience(SERVICE),
    );
    expect(p).toMatchObject({
      via: 'access_token',
      userId: aliceId,
      clientId,
      grantId: 'grant-1',
      scopes: null,
    });
  });

  it("refuses it at another service, at Gatehouse's own API, and forged or expired ones", async () => {
    const good = await accessToken();
    const invalid = { refused: 'invalid' };
    expect(
      await t.gh.principals.fromBearer(good, serviceAudience('https://wiki.example.org')),
    ).toEqual(invalid);
    expect(await t.gh.principals.fromBearer(good, GATEHOUSE_AUDIENCE)).toEqual(invalid);
    const [header, body] = good.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${body}.`;
    for (const bad of [
      unsigned,
      `${header}.${body}.${'A'.repeat(342)}`,
      await accessToken({ exp: Math.floor(clock / 1000) - 60 }),
      await accessToken({ iss: 'https://evil.example' }),
      await accessToken({ sub: 42 }),
      await accessToken({ client_id: undefined }),
      await accessToken({ client_id: crypto.randomUUID() }),
      await accessToken({ sub: crypto.randomUUID() }),
    ]) {
      expect(await t.gh.principals.fromBearer(bad, serviceAudience(SERVICE))).toEqual(invalid);
    }
  });

  it("refuses a token whose client lost the service, or whose member fails the client's rule or is disabled", async () => {
    const system = { userId: null };
    await t.gh.access.createGroup(system, { path: 'api-users' });
    const ruled = await t.gh.clients.create({
      name: 'Ruled',
      grantTypes: ['client_credentials'],
      resources: [SERVICE],
      accessRule: 'api-users',
    });
    const service = serviceAudience(SERVICE);
    const ruledToken = await accessToken({ client_id: ruled.client.clientId });
    expect(await t.gh.principals.fromBearer(ruledToken, service)).toEqual({ refused: 'invalid' });
    await t.gh.access.addMember(system, 'api-users', aliceId);
    expect(await t.gh.principals.fromBearer(ruledToken, service)).toMatchObject({
      via: 'access_token',
    });
    await t.gh.clients.update(ruled.client.clientId, { resources: [] });
    expect(await t.gh.principals.fromBearer(ruledToken, service)).toEqual({ refused: 'invalid' });

    const id = await member('fay');
    const fays = await accessToken({ sub: id });
    expect(await t.gh.principals.fromBearer(fays, service)).toMatchObject({ userId: id });
    await t.gh.accounts.setDisabled(id, true);
    expect(await t.gh.principals.fromBearer(fays, service)).toEqual({ refused: 'invalid' });
  });

  it('refuses a token whose grant was revoked', async () => {
    const revoked = new Set<string>();
    const { gh } = t;
    const principals = createPrincipals({
      sessions: gh.sessions,
      accounts: gh.accounts,
      apiTokens: gh.apiTokens,
      clients: gh.clients,
      access: gh.access,
      accessTokens: {
        verify: async (token, audience) => {
          const [, body] = token.split('.');
          const claims = JSON.parse(Buffer.from(body!, 'base64url').toString());
          return claims.aud === audience ? claims : null;
        },
        grantRevoked: async (grantId) => revoked.has(grantId),
      },
    });
    const token = await accessToken({ gid: 'grant-2' });
    expect(await principals.fromBearer(token, serviceAudience(SERVICE))).toMatchObject({
      grantId: 'grant-2',
    });
    revoked.add('grant-2');
    expect(await principals.fromBearer(token, serviceAudience(SERVICE))).toEqual({
      refused: 'invalid',
    });
    // Without JWT support a service takes API tokens only.
    const apiOnly = createPrincipals({ ...gh, accessTokens: null });
    expect(await apiOnly.fromBearer(token, serviceAudience(SERVICE))).toEqual({
      refused: 'invalid',
    });
  });

  it('throws STORE_UNAVAILABLE when it cannot ask whether the grant was revoked, never lets it in', async () => {
    const token = await accessToken({ gid: 'grant-3' });
    kv.fail(['get']);
    await expect(t.gh.principals.fromBearer(token, serviceAudience(SERVICE))).rejects.toMatchObject(
      { code: 'STORE_UNAVAILABLE' },
    );
    kv.restore();
    expect(await t.gh.principals.fromBearer(token, serviceAudience(SERVICE))).toMatchObject({
      via: 'access_token',
    });
  });
});
