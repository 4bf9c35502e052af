// The edges of the OIDC provider that flows.test.ts does not walk: guessing device user codes,
// RP-initiated logout in a browser whose provider session is gone, and a member disconnecting a
// service from the account page. openid-client is the relying party, Chromium the browser.

import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { USER_CODE_GUESSES } from '../../src/oidc/device-codes.ts';
import { oidcConsents } from '../../src/oidc/tables.ts';
import { createInjectClient } from '../../src/testing/inject-client.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { oidcFixture, PASSWORD } from './fixture.ts';
import { authorize } from './rp.ts';

const fx = oidcFixture();
const { page, register } = fx;

describe(`guessing device user codes (${storageMode()})`, () => {
  /** A browser-like client at one address, on the device page's form. */
  function deviceVisitor(ip: string) {
    const c = createInjectClient(fx.served.app, { ip });
    let xsrf = '';
    const remember = (body: string) => {
      xsrf = /name="xsrf" value="([^"]+)"/.exec(body)?.[1] ?? xsrf;
    };
    return {
      async open() {
        const res = await c.get('/oidc/device');
        remember(res.body);
        return res;
      },
      async enter(userCode: string) {
        const res = await c.post('/oidc/device', { xsrf, user_code: userCode });
        remember(res.body);
        return res;
      },
    };
  }

  it('refuses an address with 429 once it entered too many wrong codes, even the right code; other addresses go on', async () => {
    const { client } = await register({
      name: 'Workshop CLI',
      public: true,
      grantTypes: ['device_code', 'refresh_token'],
      redirectUris: [],
    });
    const started = await fetch(`${fx.served.baseUrl}/oidc/device/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.clientId, scope: 'openid' }),
    });
    const { user_code: userCode } = (await started.json()) as { user_code: string };

    const attacker = deviceVisitor('198.51.100.7');
    expect((await attacker.open()).statusCode).toBe(200);
    for (let i = 0; i < USER_CODE_GUESSES.maxFailures; i++) {
      const wrong = await attacker.enter(`BCDF-GH${'JKLMNPQRST'[i]}${'JKLMNPQRST'[i]}`);
      expect(wrong.statusCode).toBe(200);
      expect(wrong.body).toContain('That code is not valid or has expired');
    }
    const refused = await attacker.enter('BCDF-GHJK');
    expect(refused.statusCode).toBe(429);
    const wait = Number(refused.headers['retry-after']);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(USER_CODE_GUESSES.windowMs / 1000);
    expect(refused.body).toContain('Too many wrong codes were entered from your network');
    expect(refused.body).toContain('name="user_code"');

    // The right code from the same address is refused too, without being looked up.
    const right = await attacker.enter(userCode);
    expect(right.statusCode).toBe(429);
    expect(right.body).not.toContain('Connect Workshop CLI?');

    // Another address is not affected, and the code is still waiting for its member.
    const member = deviceVisitor('198.51.100.8');
    await member.open();
    const confirm = await member.enter(userCode);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('Connect Workshop CLI?');
  });

  it('does not count codes that exist, or a form sent without a code', async () => {
    const { client } = await register({
      name: 'Printer CLI',
      public: true,
      grantTypes: ['device_code'],
      redirectUris: [],
    });
    const visitor = deviceVisitor('198.51.100.9');
    await visitor.open();
    for (let i = 0; i < USER_CODE_GUESSES.maxFailures + 2; i++) {
      const started = await fetch(`${fx.served.baseUrl}/oidc/device/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: client.clientId, scope: 'openid' }),
      });
      const { user_code: userCode } = (await started.json()) as { user_code: string };
      expect((await visitor.enter(userCode)).statusCode).toBe(200);
      expect((await visitor.enter('')).statusCode).toBe(200);
    }
  });
});

/** Whether the browser's Gatehouse session still lets it open the account page. */
async function signedIn(p: Page): Promise<boolean> {
  await p.goto(`${fx.served.baseUrl}/account`);
  return new URL(p.url()).pathname === '/account';
}

async function signInAtLogin(p: Page) {
  await p.goto(`${fx.served.baseUrl}/login`);
  await p.getByLabel('Username or email').fill('alice');
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL((u) => u.pathname === '/');
}

/** A code flow through the browser; returns the tokens. */
async function codeFlow(config: oidc.Configuration, p: Page, scope = 'openid profile') {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${fx.rp.origin}/cb`,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const seen: string[] = [];
  const landed = await authorize(p, url.href, fx.rp.origin, { seen });
  const tokens = await oidc.authorizationCodeGrant(config, new URL(landed), {
    pkceCodeVerifier: verifier,
  });
  return { tokens, seen };
}

describe(`RP-initiated logout (${storageMode()})`, () => {
  it('confirms, then ends the Gatehouse session, for a member who signed in through the service', async () => {
    const { config } = await register();
    const p = await page();
    const { tokens } = await codeFlow(config, p);
    await p.goto(
      oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `${fx.rp.origin}/bye`,
      }).href,
    );
    await p.getByRole('heading', { name: 'Sign out?' }).waitFor();
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL((u) => u.href.startsWith(`${fx.rp.origin}/bye`));
    expect(await signedIn(p)).toBe(false);
  });

  it('asks before signing out a member who signed in at /login (no provider session), and then ends the Gatehouse session', async () => {
    const { config, client } = await register();
    const p = await page();
    await signInAtLogin(p);
    await p.goto(
      oidc.buildEndSessionUrl(config, {
        client_id: client.clientId,
        post_logout_redirect_uri: `${fx.rp.origin}/bye`,
      }).href,
    );
    expect(new URL(p.url()).origin).toBe(fx.served.baseUrl);
    await p.getByRole('heading', { name: 'Sign out?' }).waitFor();
    expect(await p.locator('main').textContent()).toContain('Wiki asks to sign you out');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL((u) => u.href.startsWith(`${fx.rp.origin}/bye`));
    expect(await signedIn(p)).toBe(false);
    const recorded = await fx.served.gh.audit.recent(10);
    expect(
      recorded.some(
        (e) => e.action === 'session.sign_out' && e.details?.clientId === client.clientId,
      ),
    ).toBe(true);
  });

  it('without a redirect back, says the member is signed out only once the session has ended', async () => {
    const p = await page();
    await signInAtLogin(p);
    await p.goto(`${fx.served.baseUrl}/oidc/session/end`);
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('heading', { name: 'You are signed out' }).waitFor();
    expect(await signedIn(p)).toBe(false);
  });

  it('"Stay signed in" keeps the Gatehouse session, and the page after it says so', async () => {
    const { config } = await register();
    const p = await page();
    const { tokens } = await codeFlow(config, p);
    await p.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href);
    await p.getByRole('button', { name: 'Stay signed in' }).click();
    await p.waitForURL((u) => u.pathname.startsWith('/oidc/session/end/success'));
    const text = (await p.locator('main').textContent()) ?? '';
    expect(text).toContain('still signed in to Gatehouse');
    expect(await signedIn(p)).toBe(true);

    // The same for a member who never signed in through a service.
    const q = await page();
    await signInAtLogin(q);
    await q.goto(`${fx.served.baseUrl}/oidc/session/end`);
    await q.getByRole('button', { name: 'Stay signed in' }).click();
    await q.waitForURL((u) => u.pathname.startsWith('/oidc/session/end/success'));
    expect(await q.locator('main').textContent()).toContain('still signed in to Gatehouse');
    expect(await signedIn(q)).toBe(true);
  });

  it('a browser with no session at all is told it is signed out, without a question', async () => {
    const p = await page();
    await p.goto(`${fx.served.baseUrl}/oidc/session/end`);
    await p.getByRole('heading', { name: 'You are signed out' }).waitFor();
  });
});

describe(`connected services on the account page (${storageMode()})`, () => {
  it('lists a service after consent; removing access revokes its tokens, logs it out and asks again next time', async () => {
    const { config, client } = await register({
      name: 'Outside app',
      firstParty: false,
      backchannelLogoutUri: `${fx.rp.origin}/backchannel`,
    });
    // No script on these pages: everything works with JavaScript off.
    const p = await page({ javaScriptEnabled: false });
    const first = await codeFlow(config, p, 'openid profile email');
    expect(first.seen.some((s) => s.startsWith('/oidc/interaction/'))).toBe(true);
    const { tokens } = first;
    expect(tokens.refresh_token).toBeTruthy();

    await p.goto(`${fx.served.baseUrl}/account`);
    const section = p.locator('section', {
      has: p.getByRole('heading', { name: 'Connected services' }),
    });
    const row = section.getByRole('row', { name: /Outside app/ });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('Your email address');
    await section.screenshot({ path: '/tmp/oidc-extras-connected-services.png' });

    // Keyboard: the button is a plain form button, focused and pressed.
    const since = fx.rp.logoutTokens.length;
    const remove = section.getByRole('button', { name: 'Remove access for Outside app' });
    await remove.focus();
    await p.keyboard.press('Enter');
    await p.waitForURL((u) => u.searchParams.get('notice') === 'service-revoked');
    expect(await p.getByRole('status').textContent()).toContain('no longer has access');
    expect(await section.textContent()).toContain('You have not allowed any services.');

    // Its tokens no longer work, and it was told to end the member's session there.
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const logoutToken = await fx.rp.nextLogout(since);
    const claims = JSON.parse(Buffer.from(logoutToken.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ aud: client.clientId, sub: fx.aliceId });

    const recorded = await fx.served.gh.audit.recent(10);
    expect(recorded.find((e) => e.action === 'oidc.consent_revoke')).toMatchObject({
      actorId: fx.aliceId,
      target: `client:${client.clientId}`,
    });

    // The next sign-in to it asks again, and the answer is listed again.
    const again = await codeFlow(config, p, 'openid profile');
    expect(again.seen.some((s) => s.startsWith('/oidc/interaction/'))).toBe(true);
    expect(again.tokens.access_token).toBeTruthy();
    await p.goto(`${fx.served.baseUrl}/account`);
    await expect.poll(() => row.count()).toBe(1);
  });

  it('does not list first-party services, which never ask', async () => {
    const { config } = await register({ name: 'Community wiki' });
    const p = await page();
    const { seen } = await codeFlow(config, p);
    expect(seen.some((s) => s.startsWith('/oidc/interaction/'))).toBe(false);
    await p.goto(`${fx.served.baseUrl}/account`);
    const section = p.locator('section', {
      has: p.getByRole('heading', { name: 'Connected services' }),
    });
    expect(await section.textContent()).not.toContain('Community wiki');
  });

  it('refuses a removal without the CSRF token, and for a service the member never allowed', async () => {
    const { client } = await register({ name: 'Quiet app', firstParty: false });
    await fx.served.gh.stores.database.db
      .insert(oidcConsents)
      .values({ userId: fx.aliceId, clientId: client.clientId, scopes: ['openid'] });
    const listed = () => fx.served.app.oidc.connected.list(fx.aliceId);

    const alice = createInjectClient(fx.served.app, { ip: '192.0.2.50' });
    expect((await alice.signIn('alice', PASSWORD)).statusCode).toBe(303);
    const forged = await alice.post(`/account/services/${client.clientId}/revoke`, { _csrf: '' });
    expect(forged.statusCode).toBe(403);
    expect((await listed()).map((s) => s.clientId)).toContain(client.clientId);

    const bob = createInjectClient(fx.served.app, { ip: '192.0.2.51' });
    expect((await bob.signIn('bob', PASSWORD)).statusCode).toBe(303);
    for (const id of [client.clientId, crypto.randomUUID(), 'not-a-client', '%00<script>']) {
      const res = await bob.post(`/account/services/${encodeURIComponent(id)}/revoke`);
      expect(res.statusCode).toBe(404);
      expect(res.body).toContain('You have not allowed that service');
      expect(res.body).not.toContain('<script>');
    }
    expect((await listed()).map((s) => s.clientId)).toContain(client.clientId);

    // Signed out, the form does nothing.
    const stranger = createInjectClient(fx.served.app, { ip: '192.0.2.52' });
    const anonymous = await stranger.post(`/account/services/${client.clientId}/revoke`);
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toMatch(/^\/login/);
    expect((await listed()).map((s) => s.clientId)).toContain(client.clientId);
  });

  it('the JSON API lists and removes services too', async () => {
    const { config, client } = await register({ name: 'API app', firstParty: false });
    const p = await page();
    const { tokens } = await codeFlow(config, p, 'openid email');
    const { token } = await fx.served.gh.apiTokens.create(fx.aliceId, {
      name: 'script',
      scopes: ['account:read', 'account:write'],
      expiresAt: Date.now() + 3_600_000,
    });
    const api = (path: string, method = 'GET') =>
      fetch(`${fx.served.baseUrl}/api/v1/me/services${path}`, {
        method,
        headers: { authorization: `Bearer ${token}` },
      });

    const listed = await api('');
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { items: Array<Record<string, unknown>> };
    expect(body.items).toContainEqual(
      expect.objectContaining({
        client_id: client.clientId,
        name: 'API app',
        scopes: ['openid', 'email'],
      }),
    );

    expect((await api(`/${client.clientId}`, 'DELETE')).status).toBe(204);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    const again = await api(`/${client.clientId}`, 'DELETE');
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await api('/not-a-uuid', 'DELETE')).status).toBe(400);
    const after = (await (await api('')).json()) as { items: Array<{ client_id: string }> };
    expect(after.items.map((s) => s.client_id)).not.toContain(client.clientId);
    const recorded = await fx.served.gh.audit.recent(10);
    expect(
      recorded.some((e) => e.action === 'oidc.consent_revoke' && e.details?.via === 'api'),
    ).toBe(true);
  });
});
