import { createHash } from 'node:crypto';
import { base64url, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient, GatehouseError } from '../src/index.ts';
import { createMiniIssuer, type MiniIssuer } from './helpers/mini-issuer.ts';

let mini: MiniIssuer;
beforeAll(async () => {
  mini = await createMiniIssuer();
});
afterAll(() => mini.close());

function client(extra: Partial<Parameters<typeof createGatehouseClient>[0]> = {}) {
  return createGatehouseClient({
    issuer: mini.issuer,
    clientId: mini.clientId,
    events: false,
    ...extra,
  });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatehouseError);
    return (err as GatehouseError).code;
  }
  return 'accepted';
}

describe('verify', () => {
  it('accepts a good token and returns the member', async () => {
    const gh = client();
    const user = await gh.verify(await mini.sign({ picture: 'https://img/a.png' }));
    expect(user).toEqual({
      id: '6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11',
      username: 'ada',
      name: 'Ada Lovelace',
      email: 'ada@example.org',
      picture: 'https://img/a.png',
      groups: ['members/workshop'],
      permissions: ['upload:write'],
    });
  });

  it('gives the email only when Gatehouse verified it (email_verified: true)', async () => {
    const gh = client();
    const email = async (claims: Record<string, unknown>) =>
      (await gh.verify(await mini.sign({ email: 'ada@example.org', ...claims }))).email;
    expect(await email({ email_verified: true })).toBe('ada@example.org');
    expect(await email({ email_verified: undefined })).toBeNull(); // not said
    expect(await email({ email_verified: false })).toBeNull();
    for (const notJsonTrue of ['true', 1, null, [true]]) {
      expect(await email({ email_verified: notJsonTrue })).toBeNull();
    }
    // Introspection answers (API tokens) follow the same rule.
    const withSecret = client({ clientSecret: mini.clientSecret });
    const sub = '6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11';
    mini.opaque.set('gth_api_verified', { sub, email: 'ada@example.org', email_verified: true });
    mini.opaque.set('gth_api_unsaid', { sub, email: 'ada@example.org' });
    expect((await withSecret.verify('gth_api_verified')).email).toBe('ada@example.org');
    expect((await withSecret.verify('gth_api_unsaid')).email).toBeNull();
  });

  it('refuses a missing, empty or garbage token', async () => {
    const gh = client();
    expect(await code(gh.verify(undefined))).toBe('token_missing');
    expect(await code(gh.verify(''))).toBe('token_missing');
    expect(await code(gh.verify('a.b.c'))).toBe('token_invalid');
    expect(await code(gh.verify('x'.repeat(100_000)))).toBe('token_invalid');
    expect(await code(gh.verify('eyJ.\u0000.%%%'))).toBe('token_invalid');
  });

  it('refuses an expired token, with clock tolerance', async () => {
    const gh = client({ clockToleranceSeconds: 5 });
    const past = Math.floor(Date.now() / 1000);
    expect(await code(gh.verify(await mini.sign({ exp: past - 60, iat: past - 120 })))).toBe(
      'token_expired',
    );
    // Two seconds late is within the five seconds of tolerance.
    expect(await code(gh.verify(await mini.sign({ exp: past - 2, iat: past - 120 })))).toBe(
      'accepted',
    );
  });

  it('refuses a token not yet valid', async () => {
    const gh = client();
    const t = await mini.sign({ nbf: Math.floor(Date.now() / 1000) + 600 });
    expect(await code(gh.verify(t))).toBe('token_invalid');
  });

  it('refuses the wrong audience and the wrong issuer', async () => {
    const gh = client();
    expect(await code(gh.verify(await mini.sign({ aud: 'another-service' })))).toBe(
      'token_invalid',
    );
    expect(await code(gh.verify(await mini.sign({ iss: 'https://evil.example' })))).toBe(
      'token_invalid',
    );
    expect(await code(client({ audience: ['x', 'svc'] }).verify(await mini.sign()))).toBe(
      'accepted',
    );
  });

  it('refuses alg none', async () => {
    const gh = client();
    const good = await mini.sign();
    const [, payload] = good.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    expect(await code(gh.verify(`${header}.${payload}.`))).toBe('token_invalid');
    const withKid = base64url.encode(
      JSON.stringify({ alg: 'none', kid: mini.publicJwk().kid as string }),
    );
    expect(await code(gh.verify(`${withKid}.${payload}.`))).toBe('token_invalid');
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const gh = client();
    const jwk = mini.publicJwk();
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    const pem = createHash('sha256').update(JSON.stringify(jwk)).digest();
    for (const key of [secret, pem, new TextEncoder().encode(jwk.n as string)]) {
      const forged = await new SignJWT({ preferred_username: 'mallory' })
        .setProtectedHeader({ alg: 'HS256', kid: jwk.kid as string })
        .setIssuer(mini.issuer)
        .setAudience(mini.clientId)
        .setSubject('6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11')
        .setExpirationTime('5m')
        .sign(key);
      expect(await code(gh.verify(forged))).toBe('token_invalid');
    }
  });

  it('refuses a token signed by a key the issuer never published', async () => {
    const other = await createMiniIssuer();
    try {
      const forged = await other.sign({ iss: mini.issuer });
      expect(await code(client().verify(forged))).toBe('token_invalid');
    } finally {
      await other.close();
    }
  });

  it('refuses an ID token or a logout token as a bearer: only typ at+jwt is an access token', async () => {
    const gh = client();
    // An ID token (oidc-provider: typ JWT, or none) for this client, as leaked by id_token_hint.
    expect(await code(gh.verify(await mini.sign({ nonce: 'n' }, { typ: 'JWT' })))).toBe(
      'token_invalid',
    );
    expect(await code(gh.verify(await mini.sign({}, { typ: null })))).toBe('token_invalid');
    // A back-channel logout token.
    const logout = await mini.sign(
      { events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 's' },
      { typ: 'logout+jwt' },
    );
    expect(await code(gh.verify(logout))).toBe('token_invalid');
    // RFC 9068: the media type, in any case, is the same type.
    expect(await code(gh.verify(await mini.sign({}, { typ: 'application/AT+JWT' })))).toBe(
      'accepted',
    );
    expect(await code(gh.verify(await mini.sign({}, { typ: 'At+Jwt' })))).toBe('accepted');
  });

  it('the sign-in refuses an access token (typ at+jwt) or a logout token as its ID token', async () => {
    const gh = client();
    const idToken = await mini.sign({ nonce: 'n' }, { typ: 'JWT' });
    expect((await gh.core.verifyIdToken(idToken, 'n')).sub).toBe(
      '6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11',
    );
    expect(
      await code(gh.core.verifyIdToken(await mini.sign({ nonce: 'n' }, { typ: null }), 'n')),
    ).toBe('accepted');
    for (const typ of ['at+jwt', 'application/at+jwt', 'logout+jwt']) {
      expect(await code(gh.core.verifyIdToken(await mini.sign({ nonce: 'n' }, { typ }), 'n'))).toBe(
        'login_failed',
      );
    }
  });

  it('refuses an algorithm the service did not allow', async () => {
    const ec = await createMiniIssuer({ alg: 'ES256' });
    try {
      const t = await ec.sign();
      const base = { issuer: ec.issuer, clientId: ec.clientId, events: false };
      expect(await code(createGatehouseClient({ ...base, algorithms: ['RS256'] }).verify(t))).toBe(
        'token_invalid',
      );
      expect(await code(createGatehouseClient(base).verify(t))).toBe('accepted');
    } finally {
      await ec.close();
    }
  });

  it('refuses an http issuer except on loopback, unless allowInsecureIssuer', () => {
    for (const issuer of [
      'http://auth.example.org',
      'http://10.0.0.5:3000',
      'http://127.0.0.1.evil.example',
    ]) {
      expect(() => createGatehouseClient({ issuer, clientId: 'a', events: false })).toThrow(
        GatehouseError,
      );
    }
    for (const issuer of [
      'https://auth.example.org',
      'http://127.0.0.1:3000',
      'http://[::1]:3000',
      'http://localhost:3000',
    ]) {
      expect(() => createGatehouseClient({ issuer, clientId: 'a', events: false })).not.toThrow();
    }
    expect(() =>
      createGatehouseClient({
        issuer: 'http://auth.example.org',
        clientId: 'a',
        events: false,
        allowInsecureIssuer: true,
      }),
    ).not.toThrow();
  });

  it('rejects configurations that would allow HS* or none', () => {
    expect(() => client({ algorithms: ['HS256', 'none'] })).toThrow(GatehouseError);
    expect(() => createGatehouseClient({ issuer: 'ftp://x', clientId: 'a' })).toThrow(
      GatehouseError,
    );
  });
});

describe('keys', () => {
  it('fetches a new key once on rotation, and not on every request', async () => {
    const gh = client({ jwksCooldownSeconds: 0 });
    await gh.verify(await mini.sign());
    const before = mini.jwksFetches;
    for (let i = 0; i < 20; i++) await gh.verify(await mini.sign({ jti: `a${i}` }));
    expect(mini.jwksFetches).toBe(before);
    await mini.rotate();
    for (let i = 0; i < 20; i++) await gh.verify(await mini.sign({ jti: `b${i}` }));
    expect(mini.jwksFetches).toBe(before + 1);
  });

  it('keeps verifying with cached keys while the JWKS endpoint is down; unknown kid fails closed', async () => {
    const gh = client({ jwksCooldownSeconds: 0 });
    await gh.verify(await mini.sign());
    mini.jwksDown = true;
    try {
      expect(await code(gh.verify(await mini.sign({ jti: 'down-1' })))).toBe('accepted');
      await mini.rotate();
      expect(await code(gh.verify(await mini.sign({ jti: 'down-2' })))).toBe('token_invalid');
    } finally {
      mini.jwksDown = false;
    }
    expect(await code(gh.verify(await mini.sign({ jti: 'up-again' })))).toBe('accepted');
  });

  it('does not refetch the JWKS for a burst of unknown kids within the cool-down', async () => {
    const gh = client({ jwksCooldownSeconds: 60 });
    await gh.verify(await mini.sign());
    const before = mini.jwksFetches;
    const jwk = mini.publicJwk();
    const other = await createMiniIssuer();
    try {
      for (let i = 0; i < 10; i++) {
        const t = await other.sign({ iss: mini.issuer }, {});
        expect(await code(gh.verify(t))).toBe('token_invalid');
      }
      expect(mini.jwksFetches).toBeLessThanOrEqual(before + 1);
    } finally {
      await other.close();
    }
    expect(jwk.kid).toBeTruthy();
  });

  it('keeps two clients for two issuers apart', async () => {
    const other = await createMiniIssuer();
    try {
      const a = client();
      const b = createGatehouseClient({
        issuer: other.issuer,
        clientId: other.clientId,
        events: false,
      });
      const ta = await mini.sign();
      const tb = await other.sign();
      expect(await code(a.verify(ta))).toBe('accepted');
      expect(await code(b.verify(tb))).toBe('accepted');
      expect(await code(a.verify(tb))).toBe('token_invalid');
      expect(await code(b.verify(ta))).toBe('token_invalid');
    } finally {
      await other.close();
    }
  });
});

describe('cache', () => {
  it('answers a token seen again without verifying it, and much faster', async () => {
    const gh = client();
    const t = await mini.sign();
    const key = await importJWK(mini.publicJwk() as never, 'RS256');
    await gh.verify(t);
    const n = 300;
    let start = performance.now();
    for (let i = 0; i < n; i++) await jwtVerify(t, key, { issuer: mini.issuer, audience: 'svc' });
    const jose = performance.now() - start;
    start = performance.now();
    for (let i = 0; i < n; i++) await gh.verify(t);
    const cached = performance.now() - start;
    expect(jose / cached).toBeGreaterThan(10);
  });

  it('never answers from the cache past exp', async () => {
    let clock = Date.now();
    const gh = client({ now: () => clock, clockToleranceSeconds: 0 });
    const exp = Math.floor(clock / 1000) + 30;
    const t = await mini.sign({ exp });
    expect(await code(gh.verify(t))).toBe('accepted');
    clock = exp * 1000 - 1;
    expect(await code(gh.verify(t))).toBe('accepted');
    clock = exp * 1000 + 1;
    expect(await code(gh.verify(t))).toBe('token_expired');
  });

  it('stays bounded', async () => {
    const gh = client({ cacheSize: 5 });
    for (let i = 0; i < 20; i++) await gh.verify(await mini.sign({ jti: `c${i}` }));
    // No observable size API: a bounded cache must not throw and must keep answering.
    expect(await code(gh.verify(await mini.sign({ jti: 'last' })))).toBe('accepted');
  });
});

describe('opaque tokens', () => {
  it('introspects once, then leases; inactive tokens are refused', async () => {
    const gh = client({ clientSecret: mini.clientSecret, leaseSeconds: 60 });
    mini.opaque.set('gth_api_abc', {
      sub: 'u-1',
      preferred_username: 'bob',
      groups: ['members'],
      permissions: ['upload:read'],
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const before = mini.introspections;
    const user = await gh.verify('gth_api_abc');
    expect(user.username).toBe('bob');
    await gh.verify('gth_api_abc');
    expect(mini.introspections).toBe(before + 1);
    expect(await code(gh.verify('gth_api_nope'))).toBe('token_invalid');
    expect(await code(gh.verify('gth_api_nope'))).toBe('token_invalid');
    expect(mini.introspections).toBe(before + 2);
  });

  it('accepts through introspection only access tokens and Gatehouse API tokens', async () => {
    const gh = client({ clientSecret: mini.clientSecret });
    const claims = { sub: 'u-tt', preferred_username: 'tt' };
    const accepted = { gth_api_tt: 'gatehouse_api_token', at_bearer: 'Bearer', at_lower: 'bearer' };
    const refused = {
      rt_refresh: undefined, // oidc-provider answers a refresh token with no token_type
      rt_named: 'refresh_token',
      at_dpop: 'DPoP', // sender-constrained: not usable as a plain bearer
      x_other: 'urn:ietf:params:oauth:token-type:id_token',
    };
    for (const [token, tokenType] of Object.entries({ ...accepted, ...refused })) {
      mini.opaque.set(token, { ...claims, token_type: tokenType });
    }
    for (const token of Object.keys(accepted))
      expect(await code(gh.verify(token))).toBe('accepted');
    for (const token of Object.keys(refused)) {
      expect(await code(gh.verify(token))).toBe('token_invalid');
    }
  });

  it('re-introspects when the lease ends', async () => {
    let clock = Date.now();
    const gh = client({ clientSecret: mini.clientSecret, leaseSeconds: 10, now: () => clock });
    mini.opaque.set('gth_api_lease', { sub: 'u-2', preferred_username: 'cy' });
    const before = mini.introspections;
    await gh.verify('gth_api_lease');
    clock += 11_000;
    mini.opaque.delete('gth_api_lease');
    expect(await code(gh.verify('gth_api_lease'))).toBe('token_invalid');
    expect(mini.introspections).toBe(before + 2);
  });

  it('without a client secret, refuses opaque tokens with a configuration error', async () => {
    expect(await code(client().verify('gth_api_abc'))).toBe('configuration');
  });

  it('reports wrong client credentials as a configuration error, not as a bad token', async () => {
    const gh = client({ clientSecret: 'wrong' });
    expect(await code(gh.verify('gth_api_abc'))).toBe('configuration');
  });
});
