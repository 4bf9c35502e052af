// The example contract's issuer as a real Gatehouse: createTestGatehouse() served on loopback
// (the storage mode follows the test environment, like every server test), its client
// registry, its accounts and its /login page. Sign-out is "sign out everywhere" (every
// Gatehouse session of the member revoked), which ends the provider sessions and grants and
// pushes a `recheck` on /api/v1/events.
//
// Access tokens for the bearer tests are signed with Gatehouse's current private key (a
// test-only use of `signingKeys.load()`), so the tests can also forge the expired, foreign and
// wrong-issuer tokens the SDK must refuse; the tokens a browser sign-in brings back are real
// ones issued by /oidc/token (a JWT, because the examples ask for a resource indicator).

import { importJWK, type JWK, SignJWT } from 'jose';
import type { Browser } from 'playwright-core';
import type { Page, UserAgent } from '../packages/client/test/helpers/user-agent.ts';
import {
  launchBrowser,
  newContext,
  type ServedGatehouse,
  serveTestGatehouse,
} from '../packages/server/test/browser/chromium.ts';
import type { IssuerHarness } from './example-contract.ts';

const PASSWORD = 'correct horse battery staple';

export async function gatehouseHarness(): Promise<IssuerHarness> {
  const served: ServedGatehouse = await serveTestGatehouse({
    overrides: { logLevel: (process.env.GH_LOG as never) ?? 'silent' },
  });
  const { gh } = served;
  let browser: Browser | undefined;

  async function currentKey() {
    const keys = await gh.signingKeys.load();
    const jwk = keys.provider.find((k) => !k.key_ops) as JWK & { kid: string; alg?: string };
    return { kid: jwk.kid, alg: jwk.alg ?? 'RS256', key: await importJWK(jwk, jwk.alg ?? 'RS256') };
  }

  return {
    issuer: served.baseUrl,
    // Gatehouse issues JWT access tokens for a resource indicator (an absolute URL): the
    // service's own URL, which is then the audience its tokens carry.
    resourceFor: (serviceUrl) => `${serviceUrl}/`,
    async registerClient(c) {
      const { client, secret } = await gh.clients.create({
        name: c.name,
        redirectUris: c.redirectUris,
        postLogoutRedirectUris: c.postLogoutRedirectUris,
        firstParty: true,
        // The service's own URL (resourceFor, above): the resource it may ask tokens for.
        resources: c.redirectUris.map((uri) => `${new URL(uri).origin}/`),
      });
      return { clientId: client.clientId, clientSecret: secret! };
    },
    async createMember(m) {
      const user = await gh.accounts.create({
        username: m.username,
        name: m.name,
        email: m.email,
        // Verified, as mail verification would leave it: only a verified address is passed on.
        emailVerified: true,
        password: PASSWORD,
      });
      for (const p of m.permissions) await gh.accounts.grantPermission(user.id, p);
      // Groups are created as needed, parents first, and the member joins each.
      const system = { userId: null };
      for (const path of m.groups) {
        const segments = path.split('/');
        for (let i = 1; i <= segments.length; i++) {
          const prefix = segments.slice(0, i).join('/');
          if (!(await gh.access.findGroup(prefix)))
            await gh.access.createGroup(system, { path: prefix });
        }
        await gh.access.addMember(system, path, user.id);
      }
      return user.id;
    },
    async signAccessToken(sub, aud, claims = {}) {
      const user = await gh.accounts.findById(sub);
      const { kid, alg, key } = await currentKey();
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        sub,
        iss: served.baseUrl,
        aud,
        iat: now,
        exp: now + 600,
        jti: crypto.randomUUID(),
        client_id: 'gatehouse-harness',
        preferred_username: user?.username,
        name: user?.name ?? user?.username,
        email: user?.email,
        // As Gatehouse's own access tokens (scope email): the address and whether it is verified.
        email_verified: Boolean(user?.emailVerified),
        groups: await gh.access.groupsOf(sub),
        permissions: await gh.access.permissionsOf(sub),
        ...claims,
      })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .sign(key);
    },
    async signIn(ua, startUrl, username) {
      let page = await ua.navigate(startUrl);
      for (let step = 0; step < 4 && new URL(page.url).origin === served.baseUrl; step++) {
        if (new URL(page.url).pathname !== '/login') break;
        page = await submitLogin(ua, page, username);
      }
      return page;
    },
    async signOut(sub) {
      await gh.sessions.revokeAllForUser(sub);
    },
    async confirmSignOut(ua, page) {
      if (new URL(page.url).origin === served.baseUrl && /<form/.test(page.body)) {
        // The end-session confirmation: its form, with the "Sign out" button's value.
        return ua.submit(page, { logout: 'yes' });
      }
      return page;
    },
    async rotateKeys() {
      await gh.signingKeys.rotate(24 * 3600_000);
      await served.app.oidc.reloadKeys();
      gh.events.emit({ type: 'keys.rotated' });
    },
    async signInWithChromium(startUrl, username) {
      browser ??= await launchBrowser();
      const context = await newContext(browser);
      try {
        const page = await context.newPage();
        await page.goto(startUrl);
        await page.waitForURL((u) => u.pathname === '/login');
        await page.getByLabel('Username or email').fill(username);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL((u) => u.origin === new URL(startUrl).origin && u.pathname === '/');
        await page.waitForLoadState('load');
        const origin = new URL(startUrl).origin;
        const cookies = await context.cookies(origin);
        return {
          url: page.url(),
          text: (await page.locator('main').textContent()) ?? '',
          cookieHeader: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
        };
      } finally {
        await context.close();
      }
    },
    async close() {
      await Promise.allSettled([browser?.close(), served.close()]);
    },
  };
}

/** Fills Gatehouse's sign-in form (the one posting to /login). */
async function submitLogin(ua: UserAgent, page: Page, username: string): Promise<Page> {
  const form = /<form[^>]*action="\/login"[\s\S]*?<\/form>/i.exec(page.body)?.[0];
  if (!form) throw new Error(`no sign-in form on ${page.url}: ${page.body.slice(0, 300)}`);
  return ua.submit({ ...page, body: form }, { username, password: PASSWORD });
}
