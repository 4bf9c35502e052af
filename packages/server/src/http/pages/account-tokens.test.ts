// The "API tokens" section of /account: create (shown once), refuse scopes not held, list with
// last use, revoke; CSRF on every form.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInjectClient } from '../../testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../testing/test-gatehouse.ts';

let t: TestGatehouse;
let n = 0;
const PASSWORD = 'token page password';

async function member(permissions: string[] = []) {
  const i = ++n;
  const user = await t.gh.accounts.create({
    username: `p${i}`,
    email: `p${i}@example.org`,
    password: PASSWORD,
  });
  for (const p of permissions) await t.gh.accounts.grantPermission(user.id, p);
  const c = createInjectClient(t.app, { ip: `10.2.0.${i}` });
  expect((await c.signIn(user.username, PASSWORD)).statusCode).toBe(303);
  return { user, c };
}

beforeAll(async () => {
  t = await createTestGatehouse();
});
afterAll(() => t?.close());

describe(`account page: API tokens (${storageMode()})`, () => {
  it('offers the scopes the member holds, and no others', async () => {
    const { c } = await member(['upload:read']);
    const page = await c.get('/account');
    expect(page.body).toContain('API tokens');
    expect(page.body).toContain('You have no API tokens.');
    for (const scope of ['account:read', 'account:write', 'upload:read'])
      expect(page.body).toContain(`value="${scope}"`);
    expect(page.body).not.toContain('value="gatehouse:admin"');
    expect(page.body).toMatch(/<legend>Scopes<\/legend>/);
    expect(page.body).toMatch(/<label for="token-expires">Expires after<\/label>/);
  });

  it('creates a token, shows it once, lists it, and revokes it', async () => {
    const { c, user } = await member(['upload:read']);
    const created = await c.post('/account/tokens', {
      name: 'uploader <script>',
      scopes: ['upload:read', 'account:read'],
      expires_in: '30d',
    });
    expect(created.statusCode).toBe(201);
    const token = created.body.match(/value="(gth_api_[^"]+)"/)?.[1];
    expect(token).toBeTruthy();
    expect(created.body).toContain('will not be shown again');
    expect(created.body).not.toContain('<script>');
    expect(created.headers['cache-control']).toBe('no-store');
    expect((await t.gh.apiTokens.verify(token!))?.scopes).toEqual(['account:read', 'upload:read']);

    const page = await c.get('/account');
    expect(page.body).not.toContain(token!);
    expect(page.body).toContain('uploader &lt;script&gt;');
    expect(page.body).toContain('Never'); // not used yet

    const [info] = await t.gh.apiTokens.listForUser(user.id);
    const revoked = await c.post(`/account/tokens/${info!.id}/revoke`);
    expect(revoked.statusCode).toBe(303);
    expect(revoked.headers.location).toBe('/account?notice=token-revoked');
    expect(await t.gh.apiTokens.verify(token!)).toBeNull();
  });

  it('warns about a token that never expires', async () => {
    const { c } = await member();
    const res = await c.post('/account/tokens', {
      name: 'forever',
      scopes: 'account:read',
      expires_in: 'never',
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).toContain('This token never expires');
  });

  it('refuses scopes the member does not hold, and bad names, at their field', async () => {
    const { c } = await member();
    const wider = await c.post('/account/tokens', {
      name: 'sneaky',
      scopes: ['gatehouse:admin'],
      expires_in: '7d',
    });
    expect(wider.statusCode).toBe(403);
    expect(wider.body).toContain('not held: gatehouse:admin');
    expect(wider.body).toContain('value="sneaky"');
    const none = await c.post('/account/tokens', { name: 'x', expires_in: '7d' });
    expect(none.statusCode).toBe(400);
    expect(none.body).toContain('id="token-scopes-error"');
    const noName = await c.post('/account/tokens', {
      name: '',
      scopes: 'account:read',
      expires_in: '7d',
    });
    expect(noName.statusCode).toBe(400);
    expect(noName.body).toContain('id="token-name-error"');
    const badExpiry = await c.post('/account/tokens', {
      name: 'x',
      scopes: 'account:read',
      expires_in: 'forever and ever',
    });
    expect(badExpiry.statusCode).toBe(400);
    expect(badExpiry.body).toContain('id="token-expires-error"');
    const huge = await c.post('/account/tokens', {
      name: 'x'.repeat(70_000),
      scopes: 'account:read',
    });
    expect(huge.statusCode).toBe(413);
  });

  it('refuses forms without the CSRF token, and other members’ tokens', async () => {
    const { c } = await member();
    const forged = await c.post('/account/tokens', {
      _csrf: 'x'.repeat(43),
      name: 'forged',
      scopes: 'account:read',
    });
    expect(forged.statusCode).toBe(403);
    const other = await member();
    const { info } = await t.gh.apiTokens.create(other.user.id, {
      name: 'theirs',
      scopes: ['account:read'],
      expiresAt: null,
    });
    expect((await c.post(`/account/tokens/${info.id}/revoke`)).statusCode).toBe(404);
    expect((await c.post('/account/tokens/not-an-id/revoke')).statusCode).toBe(404);
    expect(await t.gh.apiTokens.get(info.id)).not.toBeNull();
  });
});
