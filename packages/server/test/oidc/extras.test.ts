// The edges of the OIDC provider that flows.test.ts does not walk: guessing device user codes,
// RP-initiated logout in a browser whose provider session is gone, and a member disconnecting a
// service from the account page. openid-client is the relying party, Chromium the browser.

import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientInput } from '../../src/clients/clients.ts';
import { USER_CODE_GUESSES } from '../../src/http/oidc-device.ts';
import { createInjectClient } from '../../src/testing/inject-client.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import {
  launchBrowser,
  newContext,
  type ServedGatehouse,
  serveTestGatehouse,
} from '../browser/chromium.ts';
import { authorize, type RelyingPartyServer, startRelyingParty } from './rp.ts';

const PASSWORD = 'correct horse battery staple';

let browser: Browser;
let served: ServedGatehouse;
let rp: RelyingPartyServer;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  served = await serveTestGatehouse({
    overrides: { logLevel: (process.env.GH_LOG as never) ?? 'silent' },
  });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  await served.gh.accounts.create({
    username: 'alice',
    email: 'alice@example.org',
    name: 'Alice Liddell',
    password: PASSWORD,
  });
});

afterEach(async () => {
  await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.allSettled([browser?.close(), served?.close(), rp?.close()]);
});

async function page(): Promise<Page> {
  const context = await newContext(browser);
  contexts.push(context);
  return context.newPage();
}

async function register(input: Partial<ClientInput> = {}) {
  const { client, secret } = await served.gh.clients.create({
    name: 'Wiki',
    redirectUris: [`${rp.origin}/cb`],
    postLogoutRedirectUris: [`${rp.origin}/bye`],
    firstParty: true,
    ...input,
  });
  const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
  const config = await oidc.discovery(new URL(served.baseUrl), client.clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
  return { client, config };
}

describe(`guessing device user codes (${storageMode()})`, () => {
  /** A browser-like client at one address, on the device page's form. */
  function deviceVisitor(ip: string) {
    const c = createInjectClient(served.app, { ip });
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
    const started = await fetch(`${served.baseUrl}/oidc/device/auth`, {
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
      const started = await fetch(`${served.baseUrl}/oidc/device/auth`, {
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
  await p.goto(`${served.baseUrl}/account`);
  return new URL(p.url()).pathname === '/account';
}

async function signInAtLogin(p: Page) {
  await p.goto(`${served.baseUrl}/login`);
  await p.getByLabel('Username or email').fill('alice');
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL((u) => u.pathname === '/');
}

/** A code flow through the browser; returns the tokens. */
async function codeFlow(config: oidc.Configuration, p: Page, scope = 'openid profile') {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${rp.origin}/cb`,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const seen: string[] = [];
  const landed = await authorize(p, url.href, rp.origin, { seen });
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
        post_logout_redirect_uri: `${rp.origin}/bye`,
      }).href,
    );
    await p.getByRole('heading', { name: 'Sign out?' }).waitFor();
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL((u) => u.href.startsWith(`${rp.origin}/bye`));
    expect(await signedIn(p)).toBe(false);
  });

  it('asks before signing out a member who signed in at /login (no provider session), and then ends the Gatehouse session', async () => {
    const { config, client } = await register();
    const p = await page();
    await signInAtLogin(p);
    await p.goto(
      oidc.buildEndSessionUrl(config, {
        client_id: client.clientId,
        post_logout_redirect_uri: `${rp.origin}/bye`,
      }).href,
    );
    expect(new URL(p.url()).origin).toBe(served.baseUrl);
    await p.getByRole('heading', { name: 'Sign out?' }).waitFor();
    expect(await p.locator('main').textContent()).toContain('Wiki asks to sign you out');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL((u) => u.href.startsWith(`${rp.origin}/bye`));
    expect(await signedIn(p)).toBe(false);
    const recorded = await served.gh.audit.recent(10);
    expect(
      recorded.some(
        (e) => e.action === 'session.sign_out' && e.details?.clientId === client.clientId,
      ),
    ).toBe(true);
  });

  it('without a redirect back, says the member is signed out only once the session has ended', async () => {
    const p = await page();
    await signInAtLogin(p);
    await p.goto(`${served.baseUrl}/oidc/session/end`);
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
    await q.goto(`${served.baseUrl}/oidc/session/end`);
    await q.getByRole('button', { name: 'Stay signed in' }).click();
    await q.waitForURL((u) => u.pathname.startsWith('/oidc/session/end/success'));
    expect(await q.locator('main').textContent()).toContain('still signed in to Gatehouse');
    expect(await signedIn(q)).toBe(true);
  });

  it('a browser with no session at all is told it is signed out, without a question', async () => {
    const p = await page();
    await p.goto(`${served.baseUrl}/oidc/session/end`);
    await p.getByRole('heading', { name: 'You are signed out' }).waitFor();
  });
});
