// Access groups in a real browser: an owner creates an invitation link on the group's page, a
// new person opens it signed out, registers through it and lands in the group; the owner then
// removes them and the decision flips at once. Screenshots of every page go to
// /tmp/browser-shots/ (not committed).

import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../../src/config/forward-auth.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { launchBrowser, newContext, type ServedGatehouse, serveTestGatehouse } from './chromium.ts';

const SHOTS = '/tmp/browser-shots';
const PASSWORD = 'correct horse battery staple';

let browser: Browser | undefined;
let served: ServedGatehouse | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // A service behind forward auth that only the laser group may use.
  served = await serveTestGatehouse({
    overrides: {
      forwardAuth: parseForwardAuth(
        {
          rules: [
            { host: 'laser.example.org', policy: 'signed_in', groups: 'members/workshop/laser' },
          ],
        },
        'test',
      ),
    },
  });
  browser = await launchBrowser();
});
afterEach(async () => {
  await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  const results = await Promise.allSettled([browser?.close(), served?.close()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

function gatehouse(): ServedGatehouse {
  if (!served) throw new Error('Gatehouse did not start');
  return served;
}
const url = (path: string) => new URL(path, gatehouse().baseUrl).href;

async function openPage(options: { javaScriptEnabled?: boolean } = {}) {
  if (!browser) throw new Error('Chromium did not start');
  const context = await newContext(browser, options);
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { page, problems };
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SHOTS}/${storageMode()}-${name}.png`, fullPage: true });
}

async function signIn(page: Page, username: string) {
  await page.goto(url('/login'));
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url('/'));
}

describe('invitations in a browser', () => {
  it('an owner invites by link, a new person registers through it and joins; the owner removes them', async () => {
    const gh = gatehouse().gh;
    const system = { userId: null };
    const owner = await gh.accounts.create({
      username: 'olive',
      email: 'olive@example.org',
      name: 'Olive Owner',
      password: PASSWORD,
      admin: true,
    });
    await gh.access.createGroup(system, { path: 'members', description: 'Everyone' });
    await gh.access.createGroup(system, { path: 'members/workshop' });
    const laser = await gh.access.createGroup(system, {
      path: 'members/workshop/laser',
      description: 'Trained on the laser cutter',
    });
    await gh.access.addMember(system, 'members/workshop', owner.id, 'owner');

    // JavaScript off: every step must work with plain forms.
    const { page: ownerPage, problems } = await openPage({ javaScriptEnabled: false });
    await signIn(ownerPage, 'olive');
    await ownerPage.goto(url('/account'));
    await ownerPage.getByRole('heading', { name: 'My groups' }).waitFor();
    await shot(ownerPage, 'account-groups');
    await ownerPage.getByRole('link', { name: 'members/workshop/laser' }).click();
    await ownerPage.getByRole('heading', { name: 'members/workshop/laser' }).waitFor();
    await ownerPage.getByLabel('Who can use it').selectOption('1');
    await ownerPage.getByLabel('Note').fill('For Nina');
    await ownerPage.getByRole('button', { name: 'Create invitation link' }).click();
    await ownerPage.getByRole('heading', { name: 'Invitation link ready' }).waitFor();
    expect(
      await ownerPage.getByRole('img', { name: 'QR code of the invitation link' }).count(),
    ).toBe(1);
    await shot(ownerPage, 'invitation-created');
    const link = await ownerPage.getByLabel('Invitation link', { exact: true }).inputValue();
    expect(link).toMatch(new RegExp(`^${gatehouse().baseUrl}/invite/gth_inv_`));

    // The invitee, signed out.
    const { page: guest } = await openPage({ javaScriptEnabled: false });
    await guest.goto(link);
    await guest.getByRole('heading', { name: 'Join members/workshop/laser' }).waitFor();
    await shot(guest, 'invite-landing');
    await guest.getByRole('link', { name: 'Create an account' }).click();
    await guest.getByLabel('Username').fill('nina');
    await guest.getByLabel('Email').fill('nina@example.org');
    await guest.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await guest.getByLabel('Confirm password').fill(PASSWORD);
    await shot(guest, 'invite-register');
    await guest.getByRole('button', { name: 'Create account' }).click();
    await guest.waitForURL(url('/account?notice=joined'));
    await guest.getByText('You have joined the group.').waitFor();
    await shot(guest, 'invite-joined');
    const nina = (await gh.accounts.findByUsername('nina'))!;
    expect(await gh.access.decide(nina.id, 'members/workshop/laser')).toBe(true);
    expect(await gh.access.groupsOf(nina.id)).toEqual(['members/workshop/laser']);
    // Her browser's session passes forward auth for the laser service.
    const cookie = (await guest.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const verify = () =>
      gatehouse().app.inject({
        url: '/auth/verify',
        headers: { cookie, 'x-original-url': 'https://laser.example.org/book' },
      });
    const allowed = await verify();
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['remote-groups']).toBe('members/workshop/laser');

    // The link is used up now, and says so.
    const { page: late } = await openPage();
    await late.goto(link);
    await late.getByRole('heading', { name: 'This invitation has been used up' }).waitFor();
    await shot(late, 'invite-used-up');

    // The owner removes her.
    await ownerPage.goto(url(`/account/groups/${laser.id}`));
    await shot(ownerPage, 'group-page');
    await ownerPage.getByRole('button', { name: 'Remove nina' }).click();
    await ownerPage.getByText('The member has been removed').waitFor();
    expect(await gh.access.decide(nina.id, 'members/workshop/laser')).toBe(false);
    // Her next forward-auth request is refused: signed in, no longer allowed.
    expect((await verify()).statusCode).toBe(403);

    await ownerPage.goto(url('/admin'));
    await ownerPage.getByRole('heading', { name: 'Administration' }).waitFor();
    await shot(ownerPage, 'admin');
    expect(problems).toEqual([]);
  });
});
