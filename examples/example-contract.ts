// The tests every example passes, whatever its framework: sign in through the issuer, the
// greeting page, the group page, the permission-per-route API with bearer tokens, hostile
// tokens, revocation (sign out at the issuer: the service refuses as soon as the event lands),
// and sign-out. The issuer is a harness: the oidc-provider stand-in by default; a harness over a
// real Gatehouse implements the same interface (see docs/integrators/sdk.md, "Testing").

import { createServer } from 'node:net';
import { base64url, decodeProtectedHeader, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcStandIn } from '../packages/client/test/helpers/oidc-stand-in.ts';
import { type Page, rawRequest, UserAgent } from '../packages/client/test/helpers/user-agent.ts';
import type { ExampleOptions, RunningExample } from './shared/example.ts';

type Start = (options: ExampleOptions) => Promise<RunningExample>;

/** A member the tests create. */
export interface MemberSpec {
  username: string;
  name: string;
  email: string;
  groups: string[];
  permissions: string[];
}

/** What the contract needs from an issuer: the stand-in, or a real Gatehouse. */
export interface IssuerHarness {
  issuer: string;
  /** Registers a confidential client; returns its credentials. */
  registerClient(client: {
    name: string;
    redirectUris: string[];
    postLogoutRedirectUris: string[];
  }): Promise<{ clientId: string; clientSecret: string }>;
  /** Creates a member with these groups and permissions; returns their id (`sub`). */
  createMember(member: MemberSpec): Promise<string>;
  /** A JWT access token for `aud` signed with the issuer's key; `claims` override any claim. */
  signAccessToken(sub: string, aud: string, claims?: JWTPayload): Promise<string>;
  /** Follows a sign-in started at `startUrl` through the issuer's pages as `username`. */
  signIn(ua: UserAgent, startUrl: string, username: string): Promise<Page>;
  /** Signs the member out everywhere (Gatehouse then pushes a `recheck`). */
  signOut(sub: string): Promise<void>;
  /** Confirms a sign-out page of the issuer, if it shows one. */
  confirmSignOut(ua: UserAgent, page: Page): Promise<Page>;
  /**
   * The resource indicator (and so the access tokens' audience) a service at `serviceUrl`
   * asks for. Absent: no resource indicator, and the audience is the client id.
   */
  resourceFor?(serviceUrl: string): string;
  /** Rotates the issuer's signing keys and announces it (a `keys` event). */
  rotateKeys?(): Promise<void>;
  /** Signs in through real Chromium; returns the page reached and the service's cookies. */
  signInWithChromium?(
    startUrl: string,
    username: string,
  ): Promise<{ url: string; text: string; cookieHeader: string }>;
  close(): Promise<void>;
}

/** The oidc-provider stand-in as a harness. */
export async function standInHarness(): Promise<IssuerHarness> {
  const standIn = await createOidcStandIn();
  let n = 0;
  return {
    issuer: standIn.issuer,
    async registerClient(c) {
      const creds = {
        clientId: `${c.name}-${++n}`,
        clientSecret: `secret-${c.name}-${'x'.repeat(24)}`,
      };
      standIn.addClient({
        ...creds,
        redirectUris: c.redirectUris,
        postLogoutRedirectUris: c.postLogoutRedirectUris,
      });
      return creds;
    },
    async createMember(m) {
      const sub = crypto.randomUUID();
      standIn.accounts.set(sub, {
        preferred_username: m.username,
        name: m.name,
        email: m.email,
        groups: m.groups,
        permissions: m.permissions,
      });
      return sub;
    },
    signAccessToken: (sub, aud, claims) => standIn.signAccessToken(sub, aud, claims),
    async signIn(ua, startUrl, username) {
      const sub = [...standIn.accounts].find(([, a]) => a.preferred_username === username)?.[0];
      return ua.signInAtStandIn(startUrl, sub ?? username);
    },
    signOut: (sub) => standIn.signOut(sub),
    async confirmSignOut(ua, page) {
      if (page.url.startsWith(standIn.issuer) && /<form/.test(page.body)) {
        return ua.submit(page, { logout: 'yes' });
      }
      return page;
    },
    close: () => standIn.close(),
  };
}

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

/**
 * A fetch for the service that can make the issuer's JWKS endpoint unreachable, to check that
 * cached keys keep working and an unknown `kid` fails closed.
 */
function jwksSwitch() {
  const state = { down: false, refused: 0 };
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (state.down && url.pathname.endsWith('/jwks')) {
      state.refused++;
      throw new TypeError('fetch failed (JWKS endpoint down for the test)');
    }
    return fetch(input, init);
  };
  return { state, fetch: fetchImpl };
}

export function exampleContract(
  name: string,
  start: Start,
  makeIssuer: () => Promise<IssuerHarness> = standInHarness,
  label = 'stand-in issuer',
) {
  describe(`${name} example (${label})`, () => {
    let issuer: IssuerHarness;
    let app: RunningExample;
    let clientId = '';
    let audience = '';
    let ADA = '';
    let BOB = '';
    const jwks = jwksSwitch();

    beforeAll(async () => {
      issuer = await makeIssuer();
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const creds = await issuer.registerClient({
        name: `example-${name}`,
        redirectUris: [`${base}/auth/callback`],
        postLogoutRedirectUris: [`${base}/`],
      });
      clientId = creds.clientId;
      const resource = issuer.resourceFor?.(base);
      audience = resource ?? clientId;
      ADA = await issuer.createMember({
        username: 'ada',
        name: 'Ada <Lovelace>',
        email: 'ada@example.org',
        groups: ['members/workshop'],
        permissions: ['upload:read', 'upload:write'],
      });
      BOB = await issuer.createMember({
        username: 'bob',
        name: 'Bob',
        email: 'bob@example.org',
        // A sibling of the workshop: membership flows down a tree, never across or up.
        groups: ['members/kitchen'],
        permissions: ['upload:read'],
      });
      app = await start({ issuer: issuer.issuer, ...creds, port, resource, fetch: jwks.fetch });
    });
    afterAll(async () => {
      await app?.close();
      await issuer?.close();
    });

    async function signedIn(username: string) {
      const ua = new UserAgent();
      const page = await issuer.signIn(ua, `${app.url}/auth/login?returnTo=%2F`, username);
      return { ua, page };
    }

    it('greets a visitor, then the member after signing in through the issuer', async () => {
      const anonymous = await new UserAgent().navigate(`${app.url}/`);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body).toContain('Sign in');
      const { page } = await signedIn('ada');
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

    it('lets only the workshop group into /workshop', async () => {
      const ada = await signedIn('ada');
      expect((await ada.ua.navigate(`${app.url}/workshop`)).status).toBe(200);
      const bob = await signedIn('bob');
      const refused = await bob.ua.navigate(`${app.url}/workshop`);
      expect(refused.status).toBe(403);
      // A browser gets a page, not JSON.
      expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
      expect(refused.body).toContain('You do not have access to this.');
    });

    it('checks one permission per API route with bearer tokens', async () => {
      const bob = await issuer.signAccessToken(BOB, audience);
      const ada = await issuer.signAccessToken(ADA, audience);
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
      const good = await issuer.signAccessToken(ADA, audience);
      const [, payload] = good.split('.');
      const none = `${base64url.encode('{"alg":"none"}')}.${payload}.`;
      const bad = [
        await issuer.signAccessToken(ADA, audience, { exp: now - 600, iat: now - 1200 }),
        await issuer.signAccessToken(ADA, 'https://someone-else.example/'),
        await issuer.signAccessToken(ADA, 'someone-else'),
        await issuer.signAccessToken(ADA, audience, { iss: 'https://evil.example' }),
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
      const { ua } = await signedIn('ada');
      const me = () =>
        fetch(`${app.url}/api/me`, { headers: { cookie: ua.cookieHeader(app.url) } });
      const first = await me();
      expect(first.status).toBe(200);
      expect(((await first.json()) as { username: string }).username).toBe('ada');
      // Wait for the service's event connection before revoking.
      await app.gatehouse.connect();
      await issuer.signOut(ADA);
      // The event lands within milliseconds; the time-out is only a generous bound.
      await expect
        .poll(async () => (await me()).status, { interval: 20, timeout: 10_000 })
        .toBe(401);
    });

    it('refuses a bearer token issued before the member signed out; a newer one works', async () => {
      const username = `carol-${name}`;
      const CAROL = await issuer.createMember({
        username,
        name: 'Carol',
        email: `${username}@example.org`,
        groups: [],
        permissions: [],
      });
      const call = (token: string) =>
        fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      // Signed in at the issuer, so that signing out ends a session there.
      await app.gatehouse.connect();
      await signedIn(username);
      // A token the service accepts. Events about Carol's sign-in may still land and make a
      // token from the same second suspect, so mint until one is accepted.
      let old = '';
      await expect
        .poll(
          async () => {
            old = await issuer.signAccessToken(CAROL, audience);
            return (await call(old)).status;
          },
          { timeout: 10_000 },
        )
        .toBe(200);
      await issuer.signOut(CAROL);
      // The issuer cannot vouch for a JWT issued before the revocation: refused once the
      // `recheck` event lands (the time-out is only a generous bound).
      await expect
        .poll(async () => (await call(old)).status, { interval: 20, timeout: 10_000 })
        .toBe(401);
      const res = await call(old);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(
        /^token_(revoked|invalid)$/,
      );
      // A token issued after the sign-out (a new sign-in) is served.
      await expect
        .poll(async () => (await call(await issuer.signAccessToken(CAROL, audience))).status, {
          timeout: 10_000,
        })
        .toBe(200);
    });

    // Only a real Gatehouse rotates keys and has pages for a browser; the stand-in has one fixed
    // key and pages for the node agent, so these two are not registered for it.
    const real = makeIssuer !== standInHarness;
    if (real)
      it('keeps accepting tokens across a key rotation, and accepts the new key at once', async () => {
        const call = (token: string) =>
          fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
        const before = await issuer.signAccessToken(BOB, audience);
        expect((await call(before)).status).toBe(200);
        await issuer.rotateKeys!();
        const after = await issuer.signAccessToken(BOB, audience);
        expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
        expect((await call(after)).status).toBe(200);
        // The retired key stays published while its tokens live.
        expect((await call(before)).status).toBe(200);
      });

    if (real)
      it('signs in through Chromium and serves the member from the session cookie', async () => {
        const done = await issuer.signInWithChromium!(`${app.url}/auth/login?returnTo=%2F`, 'ada');
        expect(done.url).toBe(`${app.url}/`);
        expect(done.text).toContain('Hello, Ada <Lovelace>');
        const me = await fetch(`${app.url}/api/me`, { headers: { cookie: done.cookieHeader } });
        expect(me.status).toBe(200);
        const user = (await me.json()) as { id: string; username: string; permissions: string[] };
        expect(user).toMatchObject({ id: ADA, username: 'ada', email: 'ada@example.org' });
        // The permissions come from the access token Gatehouse issued for this service.
        expect([...user.permissions].sort()).toEqual(['upload:read', 'upload:write']);
        const uploads = await fetch(`${app.url}/api/uploads`, {
          headers: { cookie: done.cookieHeader },
        });
        expect(uploads.status).toBe(200);
      });

    it('keeps verifying with cached keys while the JWKS endpoint is down; an unknown kid fails closed', async () => {
      const call = (token: string) =>
        fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      // Keys are cached by an earlier verification.
      expect((await call(await issuer.signAccessToken(BOB, audience))).status).toBe(200);
      jwks.state.down = true;
      try {
        expect((await call(await issuer.signAccessToken(BOB, audience))).status).toBe(200);
        const { privateKey } = await generateKeyPair('RS256');
        const now = Math.floor(Date.now() / 1000);
        const stranger = await new SignJWT({ preferred_username: 'bob' })
          .setProtectedHeader({ alg: 'RS256', kid: 'not-published' })
          .setIssuer(issuer.issuer)
          .setAudience(audience)
          .setSubject(BOB)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(privateKey);
        const res = await call(stranger);
        expect(res.status).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
          'token_invalid',
        );
      } finally {
        jwks.state.down = false;
      }
    });

    it('signs out locally and at the issuer', async () => {
      const { ua } = await signedIn('bob');
      let page = await ua.navigate(`${app.url}/auth/logout`, { method: 'POST' });
      // The issuer may ask to confirm.
      page = await issuer.confirmSignOut(ua, page);
      expect(page.url).toBe(`${app.url}/`);
      expect(page.body).toContain('Sign in');
      const res = await fetch(`${app.url}/api/me`, {
        headers: { cookie: ua.cookieHeader(app.url) },
      });
      expect(res.status).toBe(401);
    });

    it('refuses a forged or tampered session cookie', async () => {
      const { ua } = await signedIn('bob');
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
      const page = await new UserAgent().navigate(`${app.url}/auth/callback?code=abc&state=xyz`);
      expect(page.status).toBe(400);
      expect(page.body).toContain('Sign in again');
      const res = await fetch(`${app.url}/auth/callback?code=abc&state=xyz`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('login_failed');
    });

    it('does not redirect to another site after sign-in', async () => {
      const ua = new UserAgent();
      const page = await issuer.signIn(
        ua,
        `${app.url}/auth/login?returnTo=${encodeURIComponent('//evil.example/')}`,
        'bob',
      );
      expect(page.url).toBe(`${app.url}/`);
    });
  });
}
