// The API tokens section of /account in a real browser: create a token by label and keyboard,
// see it once, use it against the API, revoke it. Screenshots go to /tmp/browser-shots/.

import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { launchBrowser, newContext, type ServedGatehouse, serveTestGatehouse } from './chromium.ts';

const SHOTS = '/tmp/browser-shots';
const PASSWORD = 'correct horse battery staple';

let browser: Browser | undefined;
let served: ServedGatehouse | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  served = await serveTestGatehouse();
  browser = await launchBrowser();
});

afterAll(async () => {
  const results = await Promise.allSettled([browser?.close(), served?.close()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe(`API tokens on the account page, in Chromium (${storageMode()})`, () => {
  it('creates a token shown once, lists it with its last use, and revokes it', async () => {
    const gh = served!.gh;
    const user = await gh.accounts.create({
      username: 'tokenowner',
      email: 'tokenowner@example.org',
      name: 'Token Owner',
      password: PASSWORD,
    });
    await gh.accounts.grantPermission(user.id, 'upload:read');
    const context = await newContext(browser!);
    try {
      const page = await context.newPage();
      await page.goto(new URL('/account', served!.baseUrl).href);
      await page.getByLabel('Username or email').fill('tokenowner');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/account$/);

      const section = page.getByRole('region', { name: 'API tokens' });
      await expect(section.getByText('You have no API tokens.').count()).resolves.toBe(1);
      await section.getByLabel('Name', { exact: true }).fill('nightly backup');
      await section.getByRole('checkbox', { name: /upload:read/ }).check();
      // Keyboard: the expiry select and the button are reachable and operable.
      await section.getByLabel('Expires after').selectOption('90d');
      await section.getByRole('button', { name: 'Create token' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForLoadState('load');

      const reveal = page.getByLabel('Your new token');
      const token = await reveal.inputValue();
      expect(token).toMatch(/^gth_api_/);
      await page.screenshot({
        path: `${SHOTS}/${storageMode()}-api-token-created.png`,
        fullPage: true,
      });

      // The token works against the API and its use shows on the page.
      const res = await fetch(new URL('/api/v1/me', served!.baseUrl), {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      await page.goto(new URL('/account', served!.baseUrl).href);
      await expect(page.getByLabel('Your new token').count()).resolves.toBe(0);
      const row = page.getByRole('row', { name: /nightly backup/ });
      await expect(row.getByText('just now').count()).resolves.toBe(1);
      await page.screenshot({
        path: `${SHOTS}/${storageMode()}-api-tokens-list.png`,
        fullPage: true,
      });

      await row.getByRole('button', { name: /Revoke/ }).click();
      await page.waitForURL(/notice=token-revoked/);
      await expect(page.getByText('That API token has been revoked.').count()).resolves.toBe(1);
      const after = await fetch(new URL('/api/v1/me', served!.baseUrl), {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(after.status).toBe(401);
    } finally {
      await context.close();
    }
  });
});
