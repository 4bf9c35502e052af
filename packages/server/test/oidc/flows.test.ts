// Every OIDC flow Gatehouse offers, driven by openid-client (a relying party we did not write)
// with headless Chromium as the member's browser: sign-in through /login, ID token checks
// (signature, iss, aud, nonce, at_hash / c_hash), userinfo, refresh, introspection,
// revocation, logout with a back-channel receiver, the device grant, PAR, dynamic registration.

import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createGatehouseClient } from 'gatehouse-client';
import { createLocalJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { generateSecretToken } from '../../src/crypto/secret-tokens.ts';
import { issueInitialAccessToken } from '../../src/oidc/provider.ts';
import { oidcFixture, PASSWORD } from './fixture.ts';
import { authorize } from './rp.ts';

const fx = oidcFixture();
const { page, register, secretOf } = fx;

function halfHash(value: string) {
  const digest = createHash('sha256').update(value).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

async function jwks() {
  const res = await fetch(`${fx.served.baseUrl}/oidc/jwks`);
  return createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
}

async function verifyIdToken(token: string, clientId: string, nonce: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, await jwks(), {
    issuer: fx.served.baseUrl,
    audience: clientId,
  });
  expect(payload.nonce).toBe(nonce);
  return payload;
}

/** An authorization request with a fresh PKCE verifier (pushed first with `par`). */
async function pkceRequest(
  config: oidc.Configuration,
  params: Record<string, string>,
  options: { par?: boolean } = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const all = {
    redirect_uri: `${fx.rp.origin}/cb`,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  };
  const url = options.par
    ? await oidc.buildAuthorizationUrlWithPAR(config, all)
    : oidc.buildAuthorizationUrl(config, all);
  return { url, verifier };
}

/** A code flow with PKCE through the browser; returns the tokens and the page (signed in). */
async function codeFlow(
  config: oidc.Configuration,
  p: Page,
  extra: Record<string, string> = {},
  options: Parameters<typeof authorize>[3] = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${fx.rp.origin}/cb`,
    scope: 'openid profile email groups',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...extra,
  });
  const landed = await authorize(p, url.href, fx.rp.origin, options);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(landed), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  return { tokens, landed, verifier };
}

/** A request with headers fetch() will not send as given (Host); form-encodes `form`. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  form?: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const payload = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${fx.served.baseUrl}${path}`,
      {
        method,
        headers: {
          ...headers,
          ...(payload
            ? {
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': String(Buffer.byteLength(payload)),
              }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('authorization code with PKCE', () => {
  it('signs in through /login and returns a verified ID token, userinfo, refresh, introspection and revocation', async () => {
    const { config, client } = await register();
    const p = await page();
    const seen: string[] = [];
    const { tokens } = await codeFlow(config, p, {}, { seen });
    expect(seen).toContain('/login');

    const claims = tokens.claims()!;
    expect(claims.sub).toBe(fx.aliceId);
    expect(claims.iss).toBe(fx.served.baseUrl);
    expect(claims.aud).toBe(client.clientId);
    expect(claims.preferred_username ?? claims.name).toBeDefined();

    const info = await oidc.fetchUserInfo(config, tokens.access_token, fx.aliceId);
    expect(info).toMatchObject({
      sub: fx.aliceId,
      preferred_username: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.org',
      groups: [],
    });

    // Refresh rotates the refresh token.
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(active.active).toBe(true);
    expect(active.sub).toBe(fx.aliceId);

    await oidc.tokenRevocation(config, refreshed.access_token);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
  });

  it('does not ask a signed-in member again, for the same or another client', async () => {
    const first = await register();
    const second = await register({ name: 'Print queue' });
    const p = await page();
    await codeFlow(first.config, p);
    const seen: string[] = [];
    const { tokens } = await codeFlow(second.config, p, {}, { seen });
    expect(seen).not.toContain('/login');
    expect(tokens.claims()!.sub).toBe(fx.aliceId);
  });

  it('a public client must use PKCE, and only S256', async () => {
    const { config, client } = await register({ public: true });
    const p = await page();
    await p.goto(
      oidc.buildAuthorizationUrl(config, { redirect_uri: `${fx.rp.origin}/cb`, scope: 'openid' })
        .href,
    );
    expect(new URL(p.url()).searchParams.get('error')).toBe('invalid_request');

    const plain = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${fx.rp.origin}/cb`,
      scope: 'openid',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'plain',
    });
    await p.goto(plain.href);
    expect(new URL(p.url()).searchParams.get('error')).toBe('invalid_request');
    expect(client.public).toBe(true);
  });

  it('refuses a PKCE verifier that does not match', async () => {
    const { config } = await register({ public: true });
    const p = await page();
    const { url } = await pkceRequest(config, { scope: 'openid' });
    const landed = await authorize(p, url.href, fx.rp.origin);
    await expect(
      oidc.authorizationCodeGrant(config, new URL(landed), {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        idTokenExpected: true,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('a code used twice fails and revokes the tokens it issued', async () => {
    const { config } = await register();
    const p = await page();
    const { url, verifier } = await pkceRequest(config, { scope: 'openid' });
    const landed = await authorize(p, url.href, fx.rp.origin);
    const first = await oidc.authorizationCodeGrant(config, new URL(landed), {
      pkceCodeVerifier: verifier,
    });
    await expect(
      oidc.authorizationCodeGrant(config, new URL(landed), { pkceCodeVerifier: verifier }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, first.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, first.refresh_token!)).active).toBe(false);
  });

  it('an expired code is refused', async () => {
    const { config } = await register();
    const p = await page();
    const { url, verifier } = await pkceRequest(config, { scope: 'openid' });
    const landed = await authorize(p, url.href, fx.rp.origin);
    // Age the stored code past its expiry, as a minute's wait would.
    const code = new URL(landed).searchParams.get('code')!;
    const key = `oidc:AuthorizationCode:${code}`;
    const stored = JSON.parse((await fx.served.stores.kv.get(key))!);
    stored.exp = Math.floor(Date.now() / 1000) - 1;
    await fx.served.stores.kv.set(key, JSON.stringify(stored), 60_000);
    await expect(
      oidc.authorizationCodeGrant(config, new URL(landed), { pkceCodeVerifier: verifier }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('a redirect URI that differs by one character is refused without redirecting', async () => {
    const { config } = await register();
    const p = await page();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${fx.rp.origin}/cc`,
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const res = await p.goto(url.href);
    expect(new URL(p.url()).origin).toBe(fx.served.baseUrl);
    expect(res?.status()).toBe(400);
    expect(await p.locator('main').textContent()).toContain('redirect_uri');
  });

  it('a wrong client secret is refused', async () => {
    const { client } = await register();
    const config = await oidc.discovery(
      new URL(fx.served.baseUrl),
      client.clientId,
      undefined,
      oidc.ClientSecretBasic(
        'gth_cs_00000000000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ),
      { execute: [oidc.allowInsecureRequests] },
    );
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({
      cause: [{ parameters: { error: 'invalid_client' } }],
    });
  });

  it('a reused refresh token revokes the whole family', async () => {
    const { config } = await register();
    const p = await page();
    const { tokens } = await codeFlow(config, p);
    const second = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});

describe('prompts', () => {
  it('prompt=none answers silently when signed in, and login_required after signing out of Gatehouse', async () => {
    const { config } = await register();
    const p = await page();
    await codeFlow(config, p);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${fx.rp.origin}/cb`,
      scope: 'openid',
      prompt: 'none',
      code_challenge: 'y'.repeat(43),
      code_challenge_method: 'S256',
    });
    await p.goto(url.href);
    expect(new URL(p.url()).searchParams.get('code')).toBeTruthy();

    await p.goto(`${fx.served.baseUrl}/account`);
    await p.getByRole('button', { name: 'Sign out' }).first().click();
    await p.waitForURL((u) => u.pathname !== '/account');
    await p.goto(url.href);
    expect(new URL(p.url()).searchParams.get('error')).toBe('login_required');
  });

  it('prompt=none answers silently for a member signed in at /login, before any provider session exists', async () => {
    const { config } = await register({ backchannelLogoutUri: `${fx.rp.origin}/backchannel` });
    const p = await page();
    await p.goto(`${fx.served.baseUrl}/login`);
    await p.getByLabel('Username or email').fill('alice');
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL((u) => u.pathname !== '/login');
    const seen: string[] = [];
    p.on('request', (r) => seen.push(new URL(r.url()).pathname));
    const { url, verifier } = await pkceRequest(config, { scope: 'openid', prompt: 'none' });
    await p.goto(url.href);
    const landed = new URL(p.url());
    expect(landed.origin).toBe(fx.rp.origin);
    expect(landed.searchParams.get('error')).toBeNull();
    expect(seen.filter((path) => path.startsWith('/oidc/interaction'))).toEqual([]);
    const tokens = await oidc.authorizationCodeGrant(config, landed, {
      pkceCodeVerifier: verifier,
    });
    expect(tokens.claims()!.sub).toBe(fx.aliceId);
    // The provider session it started is the Gatehouse session's: signing out ends both.
    const since = fx.rp.logoutTokens.length;
    await p.goto(`${fx.served.baseUrl}/account`);
    await p.getByRole('button', { name: 'Sign out' }).first().click();
    const logoutToken = await fx.rp.nextLogout(since);
    expect(decodeJwt(logoutToken).sid).toBe(tokens.claims()!.sid);

    // Consent is still needed: a third-party service never allowed answers consent_required.
    const outside = await register({ firstParty: false, name: 'Outside app' });
    const q = await page();
    await q.goto(`${fx.served.baseUrl}/login`);
    await q.getByLabel('Username or email').fill('alice');
    await q.getByLabel('Password').fill(PASSWORD);
    await q.getByRole('button', { name: 'Sign in' }).click();
    await q.waitForURL((u) => u.pathname !== '/login');
    const asked = await pkceRequest(outside.config, { scope: 'openid', prompt: 'none' });
    await q.goto(asked.url.href);
    expect(new URL(q.url()).searchParams.get('error')).toBe('consent_required');
  });

  it('prompt=login and max_age=0 ask for the password again; login_hint fills the username', async () => {
    const { config } = await register();
    const p = await page();
    await codeFlow(config, p);
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const seen: string[] = [];
      const { tokens } = await codeFlow(config, p, extra, { seen });
      expect(seen).toContain('/login');
      expect(tokens.claims()!.sub).toBe(fx.aliceId);
    }
    const q = await page();
    await q.goto(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${fx.rp.origin}/cb`,
        scope: 'openid',
        login_hint: 'bob',
        code_challenge: 'z'.repeat(43),
        code_challenge_method: 'S256',
      }).href,
    );
    expect(await q.getByLabel('Username or email').inputValue()).toBe('bob');
  });
});

describe('consent', () => {
  it('a third-party client shows a consent page once; the answer is remembered', async () => {
    const { config } = await register({ firstParty: false, name: 'Outside app' });
    const p = await page();
    const seen: string[] = [];
    await p.goto(`${fx.served.baseUrl}/login`);
    const { tokens } = await codeFlow(config, p, {}, { seen });
    expect(seen.some((s) => s.startsWith('/oidc/interaction/'))).toBe(true);
    expect(tokens.claims()!.sub).toBe(fx.aliceId);

    const again: string[] = [];
    await codeFlow(config, p, {}, { seen: again });
    expect(again.some((s) => s.startsWith('/oidc/interaction/'))).toBe(false);
  });

  it('denying consent returns access_denied to the client', async () => {
    const { config } = await register({ firstParty: false, name: 'Nosy app' });
    const p = await page();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${fx.rp.origin}/cb`,
      scope: 'openid email',
      code_challenge: 'w'.repeat(43),
      code_challenge_method: 'S256',
    });
    const landed = await authorize(p, url.href, fx.rp.origin, { consent: 'deny' });
    expect(new URL(landed).searchParams.get('error')).toBe('access_denied');
  });
});

/** The parameters of a front-channel response, whichever the mode it came back in. */
function responseParams(landed: string, mode: string, receivedBefore: number) {
  if (mode === 'form_post') {
    const post = fx.rp.received.slice(receivedBefore).find((r) => r.method === 'POST');
    return new URLSearchParams(post!.body);
  }
  const url = new URL(landed);
  return mode === 'fragment' ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
}

/** Every parameter of where the browser landed, query and fragment alike. */
function landedParams(landed: string) {
  const url = new URL(landed);
  return new URLSearchParams([...url.searchParams, ...new URLSearchParams(url.hash.slice(1))]);
}

describe('response types and modes', () => {
  const cases: Array<{ type: string; mode: 'fragment' | 'form_post' | 'query' }> = [
    { type: 'id_token', mode: 'fragment' },
    { type: 'id_token token', mode: 'fragment' },
    { type: 'code id_token', mode: 'fragment' },
    { type: 'code token', mode: 'form_post' },
    { type: 'code id_token token', mode: 'form_post' },
    { type: 'code', mode: 'form_post' },
    { type: 'code', mode: 'query' },
  ];
  for (const { type, mode } of cases) {
    it(`${type} with ${mode}`, async () => {
      // Token-returning response types need https for web clients; the loopback RP is native.
      const { config, client } = await register({
        responseTypes: [type],
        applicationType: type.includes('token') ? 'native' : 'web',
      });
      const p = await page();
      const nonce = oidc.randomNonce();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${fx.rp.origin}/cb`,
        response_type: type,
        response_mode: mode,
        scope: 'openid profile',
        nonce,
        state,
      });
      const before = fx.rp.received.length;
      const landed = await authorize(p, url.href, fx.rp.origin);
      const params = responseParams(landed, mode, before);
      expect(params.get('state')).toBe(state);
      const idToken = params.get('id_token');
      const accessToken = params.get('access_token');
      const code = params.get('code');
      expect(Boolean(idToken)).toBe(type.includes('id_token'));
      expect(Boolean(accessToken)).toBe(type.split(' ').includes('token'));
      expect(Boolean(code)).toBe(type.includes('code'));
      if (idToken) {
        const claims = await verifyIdToken(idToken, client.clientId, nonce);
        expect(claims.sub).toBe(fx.aliceId);
        if (accessToken) expect(claims.at_hash).toBe(halfHash(accessToken));
        if (code) expect(claims.c_hash).toBe(halfHash(code));
      }
      if (accessToken) {
        const info = await oidc.fetchUserInfo(config, accessToken, fx.aliceId);
        expect(info.sub).toBe(fx.aliceId);
      }
    });
  }

  describe('token alone: an access token and no ID token', () => {
    // A loopback relying party: token-returning response types need a native client.
    const registerFor = (responseTypes: string[]) =>
      register({ responseTypes, applicationType: 'native' });
    const redirect_uri = () => `${fx.rp.origin}/cb`;

    /** The tokens of a `token` response: an access token for userinfo, iss, no ID token. */
    async function expectTokenOnly(
      config: oidc.Configuration,
      params: URLSearchParams,
      state: string,
      scope: string[],
    ) {
      expect(params.get('error')).toBeNull();
      expect(params.get('state')).toBe(state);
      expect(params.get('iss')).toBe(fx.served.baseUrl);
      expect(params.get('id_token')).toBeNull();
      expect(params.get('code')).toBeNull();
      expect(params.get('token_type')).toBe('Bearer');
      expect(params.get('scope')?.split(' ').sort()).toEqual(scope);
      const info = await oidc.fetchUserInfo(config, params.get('access_token')!, fx.aliceId);
      expect(info.sub).toBe(fx.aliceId);
      return info;
    }

    for (const mode of ['fragment', 'form_post'] as const) {
      it(`token with ${mode}`, async () => {
        const { config, client } = await registerFor(['token']);
        expect(client.grantTypes).toContain('implicit');
        const p = await page();
        const state = oidc.randomState();
        // No openid and no nonce: a plain OAuth 2.0 request. The token's scope gains openid.
        const url = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirect_uri(),
          response_type: 'token',
          response_mode: mode,
          scope: 'profile',
          state,
        });
        const before = fx.rp.received.length;
        const landed = await authorize(p, url.href, fx.rp.origin);
        const params = responseParams(landed, mode, before);
        const info = await expectTokenOnly(config, params, state, ['openid', 'profile']);
        expect(info.preferred_username).toBe('alice');
      });
    }

    it('token pushed first (PAR), with or without response_type beside the request_uri', async () => {
      const { config } = await registerFor(['token']);
      const p = await page();
      for (const outer of [false, true]) {
        const pushed = await oidc.buildAuthorizationUrlWithPAR(config, {
          redirect_uri: redirect_uri(),
          response_type: 'token',
          scope: 'openid email',
          state: `pushed-${outer}`,
        });
        expect(pushed.searchParams.get('request_uri')).toMatch(
          /^urn:ietf:params:oauth:request_uri:/,
        );
        // RFC 9126 lets a client repeat parameters outside; the provider wants them to match.
        if (outer) pushed.searchParams.set('response_type', 'token');
        const landed = await authorize(p, pushed.href, fx.rp.origin);
        expect(new URL(landed).search).toBe('');
        await expectTokenOnly(config, responseParams(landed, 'fragment', 0), `pushed-${outer}`, [
          'email',
          'openid',
        ]);
      }
    });

    it('is listed in discovery', async () => {
      const doc = (await (
        await fetch(`${fx.served.baseUrl}/.well-known/openid-configuration`)
      ).json()) as { response_types_supported: string[] };
      expect(doc.response_types_supported).toContain('token');
      expect(doc.response_types_supported).toContain('id_token token');
    });

    it('is refused in query mode, and to clients not registered for it', async () => {
      const refusal = async (config: oidc.Configuration, params: Record<string, string>) => {
        const p = await page();
        await p.goto(
          oidc.buildAuthorizationUrl(config, {
            redirect_uri: redirect_uri(),
            scope: 'openid',
            nonce: 'n',
            state: 's',
            ...params,
          }).href,
        );
        const landed = landedParams(p.url());
        expect(landed.get('access_token')).toBeNull();
        expect(landed.get('id_token')).toBeNull();
        return landed.get('error');
      };
      const tokenOnly = await registerFor(['token']);
      expect(
        await refusal(tokenOnly.config, { response_type: 'token', response_mode: 'query' }),
      ).toBe('invalid_request');
      // Registered for token, not for id_token token: no ID tokens through the rewrite's door.
      expect(await refusal(tokenOnly.config, { response_type: 'id_token token' })).toBe(
        'invalid_request',
      );
      // A signed request object cannot be rewritten, and Gatehouse takes none.
      expect(
        await refusal(tokenOnly.config, {
          response_type: 'token',
          request: 'eyJhbGciOiJub25lIn0.eyJyZXNwb25zZV90eXBlIjoidG9rZW4ifQ.',
        }),
      ).toBe('request_not_supported');
      const withIdToken = await registerFor(['id_token token']);
      expect(await refusal(withIdToken.config, { response_type: 'token' })).toBe(
        'unsupported_response_type',
      );
      // The marker is Gatehouse's: a client sending it does not turn its response into token.
      expect(
        await refusal(withIdToken.config, {
          response_type: 'id_token token',
          gatehouse_response_type: 'token',
        }),
      ).toBe('invalid_request');
    });
  });

  it('ES256 and EdDSA ID tokens for clients registered for them', async () => {
    for (const alg of ['ES256', 'EdDSA']) {
      const { config } = await register({ idTokenSignedResponseAlg: alg });
      const p = await page();
      const { tokens } = await codeFlow(config, p);
      const header = JSON.parse(
        Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString(),
      );
      expect(header.alg).toBe(alg);
    }
  });
});

describe('client credentials and resource indicators', () => {
  it('issues an opaque token, and a JWT a service verifies locally for a resource', async () => {
    const { config, client } = await register({
      grantTypes: ['client_credentials'],
      redirectUris: [],
      resources: ['https://api.example.org'],
    });
    const opaque = await oidc.clientCredentialsGrant(config);
    expect(opaque.access_token.split('.')).toHaveLength(1);
    const jwt = await oidc.clientCredentialsGrant(config, { resource: 'https://api.example.org' });
    const { payload } = await jwtVerify(jwt.access_token, await jwks(), {
      issuer: fx.served.baseUrl,
      audience: 'https://api.example.org',
    });
    expect(payload.client_id).toBe(client.clientId);
  });

  it('a JWT access token for a member carries groups and permissions', async () => {
    const { config } = await register({ resources: ['https://api.example.org'] });
    const p = await page();
    const { url, verifier } = await pkceRequest(config, {
      scope: 'openid profile groups',
      resource: 'https://api.example.org',
    });
    const landed = await authorize(p, url.href, fx.rp.origin);
    const tokens = await oidc.authorizationCodeGrant(
      config,
      new URL(landed),
      { pkceCodeVerifier: verifier },
      { resource: 'https://api.example.org' },
    );
    const { payload } = await jwtVerify(tokens.access_token, await jwks(), {
      issuer: fx.served.baseUrl,
      audience: 'https://api.example.org',
    });
    expect(payload).toMatchObject({
      sub: fx.aliceId,
      preferred_username: 'alice',
      groups: [],
      permissions: [],
    });
  });
});

describe('device authorization and pushed authorization requests', () => {
  it('a command-line tool signs in with the device grant', async () => {
    const { config } = await register({
      public: true,
      grantTypes: ['device_code', 'refresh_token'],
      redirectUris: [],
    });
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile' });
    const p = await page();
    await p.goto(device.verification_uri_complete!);
    // Confirm the code, then sign in.
    await p.getByRole('button', { name: 'Continue' }).click();
    await p.waitForURL((u) => u.pathname === '/login');
    await p.getByLabel('Username or email').fill('alice');
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('Device connected').waitFor();
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
    expect(decodeJwt(tokens.id_token!).sub).toBe(fx.aliceId);
  });

  it('URLs the provider emits name the issuer, whatever Host or X-Forwarded-Host a request carries', async () => {
    const { client } = await register({
      public: true,
      grantTypes: ['device_code'],
      redirectUris: [],
    });
    const spoofed = {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    };
    const device = await rawRequest('POST', '/oidc/device/auth', spoofed, {
      client_id: client.clientId,
      scope: 'openid',
    });
    expect(device.status).toBe(200);
    const body = JSON.parse(device.body) as Record<string, string>;
    expect(body.verification_uri).toBe(`${fx.served.baseUrl}/oidc/device`);
    expect(body.verification_uri_complete).toMatch(
      new RegExp(`^${fx.served.baseUrl}/oidc/device\\?user_code=`),
    );
    const end = await rawRequest('GET', '/oidc/session/end', spoofed);
    expect(end.status).toBe(200);
    for (const res of [device, end]) {
      expect(JSON.stringify(res.headers) + res.body).not.toContain('evil.example');
    }
  });

  it('pushed authorization requests work end to end', async () => {
    const { config } = await register();
    const p = await page();
    const { url, verifier } = await pkceRequest(config, { scope: 'openid' }, { par: true });
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const landed = await authorize(p, url.href, fx.rp.origin);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(landed), {
      pkceCodeVerifier: verifier,
    });
    expect(tokens.access_token).toBeTruthy();
  });
});

describe('one session: logout both ways, with back-channel logout', () => {
  it('signing out of Gatehouse sends a logout token to the client and ends its tokens', async () => {
    const { config, client } = await register({
      backchannelLogoutUri: `${fx.rp.origin}/backchannel`,
    });
    const p = await page();
    const { tokens } = await codeFlow(config, p);
    const since = fx.rp.logoutTokens.length;
    await p.goto(`${fx.served.baseUrl}/account`);
    await p.getByRole('button', { name: 'Sign out' }).first().click();
    const logoutToken = await fx.rp.nextLogout(since);
    const { payload } = await jwtVerify(logoutToken, await jwks(), {
      issuer: fx.served.baseUrl,
      audience: client.clientId,
    });
    expect(payload.sub).toBe(fx.aliceId);
    expect(payload.sid).toBe(tokens.claims()!.sid);
    expect(payload.events).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout']);
    expect(payload.nonce).toBeUndefined();
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it("the client's logout (RP-initiated) ends the Gatehouse session", async () => {
    const { config } = await register({ backchannelLogoutUri: `${fx.rp.origin}/backchannel` });
    const p = await page();
    const { tokens } = await codeFlow(config, p);
    const since = fx.rp.logoutTokens.length;
    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${fx.rp.origin}/bye`,
    });
    await p.goto(end.href);
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL((u) => u.href.startsWith(`${fx.rp.origin}/bye`));
    await fx.rp.nextLogout(since);
    const res = await p.goto(`${fx.served.baseUrl}/account`);
    expect(new URL(p.url()).pathname).toBe('/login');
    expect(res?.ok()).toBe(true);
  });

  it('disabling a member ends their provider sessions and refresh tokens', async () => {
    const bob = await fx.served.gh.accounts.findByUsername('bob');
    const { config } = await register();
    const p = await page();
    const { tokens } = await codeFlow(config, p, {}, { username: 'bob' });
    await fx.served.gh.accounts.setDisabled(bob!.id, true);
    await expect
      .poll(async () => (await oidc.tokenIntrospection(config, tokens.refresh_token!)).active)
      .toBe(false);
    await fx.served.gh.accounts.setDisabled(bob!.id, false);
  });
});

describe('tokens presented to userinfo', () => {
  it("refuses alg none and HS256 signed with the server's public key", async () => {
    const keys = (await (await fetch(`${fx.served.baseUrl}/oidc/jwks`)).json()) as {
      keys: Array<Record<string, string>>;
    };
    const rsa = keys.keys.find((k) => k.kty === 'RSA')!;
    const body = Buffer.from(
      JSON.stringify({
        iss: fx.served.baseUrl,
        sub: fx.aliceId,
        aud: 'x',
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    ).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${body}.`;
    const hsHeader = Buffer.from(JSON.stringify({ alg: 'HS256', kid: rsa.kid })).toString(
      'base64url',
    );
    const { createHmac } = await import('node:crypto');
    const hs = `${hsHeader}.${body}.${createHmac('sha256', JSON.stringify(rsa)).update(`${hsHeader}.${body}`).digest('base64url')}`;
    for (const token of [none, hs, 'garbage', 'a'.repeat(5000)]) {
      const res = await fetch(`${fx.served.baseUrl}/oidc/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(text).not.toContain(token.slice(0, 40));
    }
  });
});

describe('dynamic client registration', () => {
  it('registers a client with an initial access token and stores only the secret hash', async () => {
    const { provider } = fx.served.app.oidc.state.current;
    const iat = await new provider.InitialAccessToken({}).save();
    const config = await oidc.dynamicClientRegistration(
      new URL(fx.served.baseUrl),
      {
        redirect_uris: [`${fx.rp.origin}/cb`],
        client_name: 'Registered app',
        token_endpoint_auth_method: 'client_secret_basic',
      },
      undefined,
      { initialAccessToken: iat, execute: [oidc.allowInsecureRequests] },
    );
    const metadata = config.clientMetadata();
    expect(metadata.client_secret).toMatch(/^gth_cs_/);
    const row = await fx.served.gh.clients.row(metadata.client_id);
    expect(row?.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(metadata.client_secret as string);
    // The secret works at the token endpoint.
    const p = await page();
    const { tokens } = await codeFlow(config, p, { scope: 'openid' });
    expect(tokens.access_token).toBeTruthy();

    const refused = await fetch(`${fx.served.baseUrl}/oidc/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [`${fx.rp.origin}/cb`] }),
    });
    expect(refused.status).toBe(401);
  });
});

describe('dynamic client registration by anyone holding a token', () => {
  /** POSTs a registration; `token` is an initial access token. */
  async function registration(token: string, metadata: Record<string, unknown>) {
    const res = await fetch(`${fx.served.baseUrl}/oidc/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(metadata),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const web = () => ({ redirect_uris: [`${fx.rp.origin}/cb`], client_name: 'Registered' });

  it('an initial access token registers one client; a refused registration does not use it up', async () => {
    const token = await issueInitialAccessToken(fx.served.gh, 600);
    const refused = await registration(token, { redirect_uris: ['http://app.example.org/cb'] });
    expect(refused.status).toBe(400);
    const first = await registration(token, web());
    expect(first.status).toBe(201);
    const second = await registration(token, web());
    expect(second.status).toBe(401);
    expect(second.body.error).toBe('invalid_token');
    // Registrations racing with one token: one client.
    const raced = await issueInitialAccessToken(fx.served.gh, 600);
    const answers = await Promise.all([1, 2, 3].map(() => registration(raced, web())));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401, 401]);
  });

  it('refuses fetched URLs that name loopback, private, link-local or unspecified addresses', async () => {
    const token = await issueInitialAccessToken(fx.served.gh, 600);
    const before = fx.rp.received.length;
    const keyed = { token_endpoint_auth_method: 'private_key_jwt' };
    for (const [metadata, field] of [
      [{ ...keyed, jwks_uri: `${fx.rp.origin}/jwks` }, 'jwks_uri'],
      [{ ...keyed, jwks_uri: 'http://[::1]/jwks' }, 'jwks_uri'],
      [{ ...keyed, jwks_uri: 'https://localhost/jwks' }, 'jwks_uri'],
      [{ backchannel_logout_uri: 'http://169.254.169.254/latest' }, 'backchannel_logout_uri'],
      [{ backchannel_logout_uri: 'http://10.0.0.7/logout' }, 'backchannel_logout_uri'],
      [{ backchannel_logout_uri: 'http://[fd00::1]/logout' }, 'backchannel_logout_uri'],
      [{ backchannel_logout_uri: 'http://0.0.0.0/logout' }, 'backchannel_logout_uri'],
      [{ sector_identifier_uri: 'https://192.168.1.1/sector' }, 'sector_identifier_uri'],
    ] as const) {
      const res = await registration(token, { ...web(), ...metadata });
      expect([field, res.status, res.body.error]).toEqual([field, 400, 'invalid_client_metadata']);
      expect(res.body.error_description).toContain(field);
    }
    // request_uris is not supported: neither kept nor fetched.
    const kept = await registration(token, { ...web(), request_uris: [`${fx.rp.origin}/req`] });
    expect(kept.status).toBe(201);
    expect(kept.body.request_uris).toBeUndefined();
    expect(fx.rp.received.length).toBe(before);
  });

  it('refuses plain-http redirect URIs for web clients, except on loopback', async () => {
    const token = await issueInitialAccessToken(fx.served.gh, 600);
    for (const uri of ['http://app.example.org/cb', 'http://192.168.1.10/cb']) {
      const res = await registration(token, { redirect_uris: [`${fx.rp.origin}/cb`, uri] });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: 'invalid_redirect_uri',
        error_description: expect.stringContaining('https'),
      });
    }
    const loopback = await registration(token, {
      redirect_uris: [`${fx.rp.origin}/cb`, 'https://app.example.org/cb'],
    });
    expect(loopback.status).toBe(201);
  });

  it('sends no back-channel logout to a registered client whose URL is on loopback, even one stored before the check', async () => {
    // Stored as dynamic registration stores it, as a client registered before this check was.
    const { token: secret } = generateSecretToken('cs');
    const dynamicId = crypto.randomUUID();
    await fx.served.gh.clients.saveRegistered(dynamicId, {
      client_id: dynamicId,
      client_secret: secret,
      client_name: 'Registered earlier',
      redirect_uris: [`${fx.rp.origin}/cb`],
      backchannel_logout_uri: `${fx.rp.origin}/backchannel-registered`,
      backchannel_logout_session_required: true,
    });
    const dynamic = await oidc.discovery(
      new URL(fx.served.baseUrl),
      dynamicId,
      undefined,
      oidc.ClientSecretBasic(secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const admin = await register({ backchannelLogoutUri: `${fx.rp.origin}/backchannel` });
    const p = await page();
    // The dynamic client first: its logout is attempted (and refused) before the admin's.
    await codeFlow(dynamic, p, { scope: 'openid' });
    await codeFlow(admin.config, p, { scope: 'openid' });
    const since = fx.rp.logoutTokens.length;
    await p.goto(`${fx.served.baseUrl}/account`);
    await p.getByRole('button', { name: 'Sign out' }).first().click();
    await fx.rp.nextLogout(since);
    const audiences = fx.rp.logoutTokens.slice(since).map((t) => decodeJwt(t).aud);
    expect(audiences).toEqual([admin.client.clientId]);
    expect(fx.rp.received.filter((r) => r.url === '/backchannel-registered')).toEqual([]);
  });
});

describe('hostile and malformed input', () => {
  it('oversized and malformed parameters get clear errors, not stack traces', async () => {
    const { client, secret } = await register();
    const basic = `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`;
    const post = (body: string, type = 'application/x-www-form-urlencoded') =>
      fetch(`${fx.served.baseUrl}/oidc/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': type },
        body,
      });
    const huge = await post(`grant_type=authorization_code&code=${'a'.repeat(200_000)}`);
    expect([400, 413]).toContain(huge.status);
    const json = await post('{"grant_type":"client_credentials"}', 'application/json');
    expect(json.status).toBe(400);
    const broken = await post('grant_type=%E0%A4%A');
    expect(broken.status).toBe(400);
    const unknown = await post('grant_type=password&username=a&password=b');
    expect(unknown.status).toBe(400);
    for (const res of [huge, json, broken, unknown]) {
      const text = await res.text();
      expect(text).not.toMatch(/at \w+ \(|node_modules/);
    }
    const auth = await fetch(
      `${fx.served.baseUrl}/oidc/auth?client_id=${client.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`${fx.rp.origin}/cb`)}&state=${'s'.repeat(10_000)}`,
    );
    expect(auth.status).toBeLessThan(500);
    const badClient = await fetch(
      `${fx.served.baseUrl}/oidc/auth?client_id=%00%3Cscript%3E&response_type=code`,
    );
    expect(badClient.status).toBe(400);
    expect(await badClient.text()).not.toContain('<script>');
  });

  it('a pushed request body over 56 KiB is refused, whether its length is declared or not', async () => {
    const { client, secret } = await register({
      responseTypes: ['token'],
      applicationType: 'native',
    });
    const big = `client_id=${client.clientId}&response_type=token&x=${'a'.repeat(60 * 1024)}`;
    const push = (body: RequestInit['body']) =>
      fetch(`${fx.served.baseUrl}/oidc/request`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
        duplex: 'half',
      } as RequestInit);
    for (const res of [await push(big), await push(new Blob([big]).stream())]) {
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { error: string; error_description: string };
      expect(answer.error).toBe('invalid_request');
      expect(answer.error_description).not.toMatch(/at \w+ \(|node_modules/);
    }
  });

  it('discovery and JWKS are fx.served with ETag and Cache-Control, and 304 when unchanged', async () => {
    for (const path of ['/.well-known/openid-configuration', '/oidc/jwks']) {
      const res = await fetch(`${fx.served.baseUrl}${path}`);
      expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
      const etag = res.headers.get('etag')!;
      const again = await fetch(`${fx.served.baseUrl}${path}`, {
        headers: { 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
    }
  });
});

describe('introspection of Gatehouse API tokens', () => {
  it('answers for an API token to an authenticated client, and inactive once revoked', async () => {
    const { config } = await register({ grantTypes: ['client_credentials'], redirectUris: [] });
    const { token, info } = await fx.served.gh.apiTokens.create(fx.aliceId, {
      name: 'cli',
      scopes: ['account:read'],
      expiresAt: Date.now() + 3_600_000,
    });
    const active = await oidc.tokenIntrospection(config, token);
    expect(active).toMatchObject({
      active: true,
      sub: fx.aliceId,
      username: 'alice',
      scope: 'account:read',
    });
    // The SDK accepts it too: an opaque token is checked through this introspection.
    const clientId = config.clientMetadata().client_id;
    const sdk = createGatehouseClient({
      issuer: fx.served.baseUrl,
      clientId,
      clientSecret: secretOf.get(clientId)!,
      events: false,
    });
    try {
      expect(await sdk.verify(token)).toMatchObject({ id: fx.aliceId, username: 'alice' });
    } finally {
      sdk.close();
    }
    await fx.served.gh.apiTokens.revoke(info.id);
    expect((await oidc.tokenIntrospection(config, token)).active).toBe(false);

    const anonymous = await fetch(`${fx.served.baseUrl}/oidc/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain(token);
  });
});

describe('client authentication methods', () => {
  it('client_secret_post and private_key_jwt authenticate at the token endpoint', async () => {
    const { client, secret } = await fx.served.gh.clients.create({
      name: 'Poster',
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'client_secret_post',
    });
    const post = await oidc.discovery(
      new URL(fx.served.baseUrl),
      client.clientId,
      undefined,
      oidc.ClientSecretPost(secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    expect((await oidc.clientCredentialsGrant(post)).access_token).toBeTruthy();

    const { generateKeyPair, exportJWK } = await import('jose');
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig', kid: 'k1' };
    const signer = await fx.served.gh.clients.create({
      name: 'Signer',
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [jwk] },
    });
    expect(signer.secret).toBeNull();
    const jwt = await oidc.discovery(
      new URL(fx.served.baseUrl),
      signer.client.clientId,
      undefined,
      oidc.PrivateKeyJwt({ key: privateKey, kid: 'k1' }),
      { execute: [oidc.allowInsecureRequests] },
    );
    expect((await oidc.clientCredentialsGrant(jwt)).access_token).toBeTruthy();
    // A key the client did not register is refused.
    const other = await generateKeyPair('ES256');
    const forged = await oidc.discovery(
      new URL(fx.served.baseUrl),
      signer.client.clientId,
      undefined,
      oidc.PrivateKeyJwt({ key: other.privateKey, kid: 'k1' }),
      { execute: [oidc.allowInsecureRequests] },
    );
    await expect(oidc.clientCredentialsGrant(forged)).rejects.toMatchObject({
      error: 'invalid_client',
    });
  });
});
