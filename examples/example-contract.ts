// The tests every example passes, whatever its framework: sign in through the issuer, the
// greeting page, the group page, the permission-per-route API with bearer tokens, hostile
// tokens, revocation (sign out at the issuer: the service refuses as soon as the event lands),
// and sign-out. Until the real Gatehouse provider is wired in, the issuer is the stand-in.

import { createServer } from 'node:net';
import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressionLanguageAvailable } from '../packages/client/src/access.ts';
import {
  createOidcStandIn,
  type OidcStandIn,
} from '../packages/client/test/helpers/oidc-stand-in.ts';
import { rawRequest, UserAgent } from '../packages/client/test/helpers/user-agent.ts';

type Start = (options: {
  issuer: string;
  clientId: string;
  clientSecret: string;
  port: number;
}) => Promise<{ url: string; close(): Promise<void> }>;

const ADA = '0d5f6c1e-6a55-4d5c-9d61-7b0f1c2a3b01';
const BOB = '1e6a7d2f-7b66-4e6d-8e72-8c1f2d3b4c02';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function exampleContract(name: string, start: Start) {
  describe(`${name} example`, () => {
    let issuer: OidcStandIn;
    let app: { url: string; close(): Promise<void> };
    const clientId = `example-${name}`;
    const clientSecret = `secret-${name}-0123456789abcdef0123456789`;

    beforeAll(async () => {
      issuer = await createOidcStandIn();
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      issuer.addClient({
        clientId,
        clientSecret,
        redirectUris: [`${base}/auth/callback`],
        postLogoutRedirectUris: [`${base}/`],
      });
      issuer.accounts.set(ADA, {
        preferred_username: 'ada',
        name: 'Ada <Lovelace>',
        email: 'ada@example.org',
        groups: ['members/workshop'],
        permissions: ['upload:read', 'upload:write'],
      });
      issuer.accounts.set(BOB, {
        preferred_username: 'bob',
        name: 'Bob',
        groups: ['members'],
        permissions: ['upload:read'],
      });
      app = await start({ issuer: issuer.issuer, clientId, clientSecret, port });
    });
    afterAll(async () => {
      await app?.close();
      await issuer?.close();
    });

    async function signedIn(sub: string) {
      const ua = new UserAgent();
      const page = await ua.signInAtStandIn(`${app.url}/auth/login?returnTo=%2F`, sub);
      return { ua, page };
    }

    it('greets a visitor, then the member after signing in through the issuer', async () => {
      const anonymous = await new UserAgent().navigate(`${app.url}/`);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body).toContain('Sign in');
      const { page } = await signedIn(ADA);
      expect(page.url).toBe(`${app.url}/`);
      expect(page.status).toBe(200);
      // The name is escaped, never markup.
      expect(page.body).toContain('Hello, Ada &#60;Lovelace&#62;');
    });

    it('sends a browser to sign in, and answers an API client with JSON 401', async () => {
      const res = await rawRequest(`${app.url}/workshop`, {
        headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/auth/login?returnTo=%2Fworkshop');
      const api = await fetch(`${app.url}/api/me`);
      expect(api.status).toBe(401);
      expect(await api.json()).toEqual({
        error: { code: 'login_required', message: expect.any(String) },
      });
    });

    it.skipIf(!expressionLanguageAvailable)(
      'lets only the workshop group into /workshop',
      async () => {
        const ada = await signedIn(ADA);
        expect((await ada.ua.navigate(`${app.url}/workshop`)).status).toBe(200);
        const bob = await signedIn(BOB);
        const refused = await bob.ua.navigate(`${app.url}/workshop`);
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body).error.code).toBe('forbidden');
      },
    );

    it('checks one permission per API route with bearer tokens', async () => {
      const bob = await issuer.signAccessToken(BOB, clientId);
      const ada = await issuer.signAccessToken(ADA, clientId);
      const call = (method: string, token: string) =>
        fetch(`${app.url}/api/uploads`, { method, headers: { authorization: `Bearer ${token}` } });
      expect((await call('GET', bob)).status).toBe(200);
      const refused = await call('POST', bob);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      const created = await call('POST', ada);
      expect(created.status).toBe(201);
      expect(((await created.json()) as { owner: string }).owner).toBe(ADA);
    });

    it('refuses expired, wrong-audience, wrong-issuer, alg none and malformed tokens', async () => {
      const now = Math.floor(Date.now() / 1000);
      const good = await issuer.signAccessToken(ADA, clientId);
      const [, payload] = good.split('.');
      const none = `${base64url.encode('{"alg":"none"}')}.${payload}.`;
      const bad = [
        await issuer.signAccessToken(ADA, clientId, { exp: now - 600, iat: now - 1200 }),
        await issuer.signAccessToken(ADA, 'someone-else'),
        await issuer.signAccessToken(ADA, clientId, { iss: 'https://evil.example' }),
        none,
        'not-a-token',
        `${good}x`,
      ];
      for (const token of bad) {
        const res = await fetch(`${app.url}/api/me`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(401);
        const body = (await res.json()) as { error: { code: string } };
        expect(['token_invalid', 'token_expired']).toContain(body.error.code);
      }
      const malformed = await fetch(`${app.url}/api/me`, { headers: { authorization: 'Bearer' } });
      expect(malformed.status).toBe(401);
    });

    it('ends the service session as soon as the member signs out at the issuer', async () => {
      const { ua } = await signedIn(ADA);
      const me = () =>
        fetch(`${app.url}/api/me`, { headers: { cookie: ua.cookieHeader(app.url) } });
      const first = await me();
      expect(first.status).toBe(200);
      expect(((await first.json()) as { username: string }).username).toBe('ada');
      // Wait for the service's event connection before revoking.
      while (issuer.openEventConnections() === 0) await sleep(5);
      await issuer.signOut(ADA);
      let status = 200;
      while (status === 200) {
        status = (await me()).status;
        if (status === 200) await sleep(5);
      }
      expect(status).toBe(401);
    });

    it('signs out locally and at the issuer', async () => {
      const { ua } = await signedIn(BOB);
      let page = await ua.navigate(`${app.url}/auth/logout`, { method: 'POST' });
      // The issuer asks to confirm when the service could not prove the session.
      if (page.url.startsWith(issuer.issuer) && /<form/.test(page.body)) {
        page = await ua.submit(page, { logout: 'yes' });
      }
      expect(page.url).toBe(`${app.url}/`);
      expect(page.body).toContain('Sign in');
      const res = await fetch(`${app.url}/api/me`, {
        headers: { cookie: ua.cookieHeader(app.url) },
      });
      expect(res.status).toBe(401);
    });

    it('refuses a forged or tampered session cookie', async () => {
      const { ua } = await signedIn(BOB);
      // Flip one character in the middle of the sealed value (the ciphertext).
      const header = ua
        .cookieHeader(app.url)
        .replace(/(session=[^;]{60})(.)/, (_m, a, c) => `${a}${c === 'A' ? 'B' : 'A'}`);
      for (const cookie of [
        header,
        'gatehouse_service_session=garbage',
        `gatehouse_service_session=${'A'.repeat(9000)}`,
      ]) {
        const res = await fetch(`${app.url}/api/me`, { headers: { cookie } });
        expect(res.status).toBe(401);
      }
    });

    it('refuses a sign-in callback without its transaction, or with a wrong state', async () => {
      const res = await fetch(`${app.url}/auth/callback?code=abc&state=xyz`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('login_failed');
    });

    it('does not redirect to another site after sign-in', async () => {
      const ua = new UserAgent();
      const page = await ua.signInAtStandIn(
        `${app.url}/auth/login?returnTo=${encodeURIComponent('//evil.example/')}`,
        BOB,
      );
      expect(page.url).toBe(`${app.url}/`);
    });
  });
}
