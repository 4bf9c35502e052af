// Signing in and out in a real browser (Debian's Chromium): the redirect to /login and back,
// the form found by its labels, the session on the account page, the session cookie's
// attributes, and the same flow by keyboard alone and with JavaScript turned off.
//
// Screenshots go to /tmp/browser-shots/ (not committed), named after the storage mode.

import { mkdirSync } from 'node:fs';
import type {
  Browser,
  BrowserContext,
  BrowserContextOptions,
  Locator,
  Page,
} from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { launchBrowser, newContext, type ServedGatehouse, serveTestGatehouse } from './chromium.ts';

const SHOTS = '/tmp/browser-shots';
const PASSWORD = 'correct horse battery staple';
const FIREFOX_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

let browser: Browser | undefined;
let served: ServedGatehouse | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  served = await serveTestGatehouse();
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  // Everything is closed even when one of them fails to close; then the failure is reported.
  const results = await Promise.allSettled([browser?.close(), served?.close()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

function gatehouse(): ServedGatehouse {
  if (!served) throw new Error('Gatehouse did not start');
  return served;
}

const url = (path: string) => new URL(path, gatehouse().baseUrl).href;

async function createMember(username: string, name: string) {
  return gatehouse().gh.accounts.create({
    username,
    email: `${username}@example.org`,
    name,
    password: PASSWORD,
  });
}

/**
 * A page in a fresh context (no cookies). `problems` collects what a member would see as
 * broken: console errors (CSP violations among them), failed requests and error responses.
 */
async function openPage(options: BrowserContextOptions = {}) {
  if (!browser) throw new Error('Chromium did not start');
  const context = await newContext(browser, options);
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  return { context, page, problems };
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SHOTS}/${storageMode()}-${name}.png`, fullPage: true });
}

function location(page: Page) {
  return new URL(page.url());
}

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === '__Host-gatehouse_session');
}

/** Fills the sign-in form by its labels and submits it with the button. */
async function signInWithForm(page: Page, username: string) {
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The header's button; on /account other buttons' names also start with "Sign out". */
const headerSignOut = (page: Page) => page.getByRole('button', { name: 'Sign out', exact: true });

const isFocused = (locator: Locator) =>
  locator.evaluate((el) => el === el.ownerDocument.activeElement);

/** Presses Tab until `target` has the focus; fails if it is not among the first stops. */
async function tabTo(page: Page, target: Locator) {
  for (let stops = 0; !(await isFocused(target)); stops++) {
    if (stops === 20) throw new Error('Tab never reached the element');
    await page.keyboard.press('Tab');
  }
}

describe('signing in with a browser', () => {
  it('signs in from a protected page, lists the session, and signs out', async () => {
    const user = await createMember('alice', 'Alice Example');
    // A second session elsewhere: the account page then has other "Sign out …" buttons too.
    await gatehouse().gh.sessions.create(user.id, {
      ip: '203.0.113.9',
      userAgent: FIREFOX_ON_WINDOWS,
    });
    const { context, page, problems } = await openPage();

    await page.goto(url('/account'));
    expect(location(page).pathname).toBe('/login');
    expect(location(page).searchParams.get('return_to')).toBe('/account');
    expect(await page.title()).toBe('Sign in · Gatehouse');
    await shot(page, 'login');

    await signInWithForm(page, 'alice');
    await page.waitForURL(url('/account'));
    await page.getByRole('heading', { name: 'Your account' }).waitFor();

    const sessions = page.getByRole('table', { name: 'Signed-in sessions' });
    const current = sessions.getByRole('row').filter({ hasText: 'This device' });
    expect(await current.count()).toBe(1);
    expect(await current.getByRole('rowheader').textContent()).toContain('Chrome on Linux');
    expect((await current.getByRole('cell').first().textContent())?.trim()).toBe('127.0.0.1');
    expect(await sessions.getByRole('row').filter({ hasText: 'Firefox on Windows' }).count()).toBe(
      1,
    );
    expect(
      await page.getByRole('button', { name: /^Sign out session: Firefox on Windows/ }).count(),
    ).toBe(1);
    expect(await page.getByRole('button', { name: 'Sign out all other sessions' }).count()).toBe(1);
    await shot(page, 'account');

    // Host-only, Secure, HttpOnly, SameSite=Lax, for the whole site: the __Host- rules.
    const cookie = await sessionCookie(context);
    expect(cookie).toMatchObject({
      domain: 'localhost',
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    });
    expect(cookie?.expires).toBeGreaterThan(0); // persistent (Max-Age), not a browser-session cookie
    const csrf = (await context.cookies()).find((c) => c.name === '__Host-gatehouse_csrf');
    expect(csrf).toMatchObject({ path: '/', httpOnly: true, secure: true, sameSite: 'Strict' });

    await page.goto(url('/'));
    await page.getByRole('heading', { name: 'Hello, Alice Example' }).waitFor();
    await page.getByRole('heading', { name: 'No services yet' }).waitFor();
    await page.getByText("An administrator adds the community's services to Gatehouse.").waitFor();
    await shot(page, 'portal');

    await page.goto(url('/account'));
    await headerSignOut(page).click();
    await page.getByRole('heading', { name: 'You have been signed out' }).waitFor();
    expect(await headerSignOut(page).count()).toBe(0);
    await shot(page, 'signed-out');
    expect(await sessionCookie(context)).toBeUndefined();
    // The server ended this browser's session and left the other one alone.
    const left = await gatehouse().gh.sessions.listForUser(user.id);
    expect(left.map((s) => s.userAgent)).toEqual([FIREFOX_ON_WINDOWS]);

    await page.goto(url('/account'));
    expect(location(page).pathname).toBe('/login');
    expect(problems).toEqual([]);
  });

  it('stays on Gatehouse when a signed-in member follows a return path that resolves to //host', async () => {
    await createMember('rosa', 'Rosa Example');
    const { context, page } = await openPage();
    // Any request to another host is recorded and never leaves the machine.
    const foreign: string[] = [];
    await context.route(
      (u) => u.origin !== new URL(gatehouse().baseUrl).origin,
      (route) => {
        foreign.push(route.request().url());
        return route.abort();
      },
    );
    await page.goto(url('/login'));
    await signInWithForm(page, 'rosa');
    await page.waitForURL(url('/'));
    for (const trick of [
      '/.//evil.test/phish',
      '/x/..//evil.test',
      '/%2e//evil.test',
      '/./\\evil.test',
    ]) {
      await page.goto(url(`/login?rd=${encodeURIComponent(trick)}`));
      expect(location(page).origin, trick).toBe(new URL(gatehouse().baseUrl).origin);
    }
    expect(foreign).toEqual([]);
  });

  it('signs in and out with the keyboard alone', async () => {
    await createMember('bob', 'Bob Example');
    const { page, problems } = await openPage();

    await page.goto(url('/login'));
    await tabTo(page, page.getByLabel('Username or email'));
    await page.keyboard.type('bob');
    await page.keyboard.press('Tab');
    expect(await isFocused(page.getByLabel('Password', { exact: true }))).toBe(true);
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(url('/'));
    await page.getByRole('heading', { name: 'Hello, Bob Example' }).waitFor();

    await tabTo(page, headerSignOut(page));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'You have been signed out' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('signs in and out with JavaScript turned off', async () => {
    await createMember('carol', 'Carol Example');
    const { context, page, problems } = await openPage({ javaScriptEnabled: false });

    await page.goto(url('/account'));
    expect(location(page).pathname).toBe('/login');
    expect(location(page).searchParams.get('return_to')).toBe('/account');

    await signInWithForm(page, 'carol');
    await page.waitForURL(url('/account'));
    const current = page.getByRole('row').filter({ hasText: 'This device' });
    expect(await current.getByRole('rowheader').textContent()).toContain('Chrome on Linux');
    await shot(page, 'nojs-account');

    await headerSignOut(page).click();
    await page.getByRole('heading', { name: 'You have been signed out' }).waitFor();
    expect(await sessionCookie(context)).toBeUndefined();
    await shot(page, 'nojs-signed-out');

    await page.goto(url('/account'));
    expect(location(page).pathname).toBe('/login');
    expect(problems).toEqual([]);
  });
});
