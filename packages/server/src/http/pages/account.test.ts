import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInjectClient } from '../../testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../testing/test-gatehouse.ts';

let t: TestGatehouse;
let n = 0;

/** A new member, signed in from a client of their own. */
async function member(password = 'member password 1') {
  const i = ++n;
  const user = await t.gh.accounts.create({
    username: `m${i}`,
    email: `m${i}@example.org`,
    password,
  });
  const c = createInjectClient(t.app, {
    ip: `10.1.0.${i}`,
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' },
  });
  expect((await c.signIn(user.username, password)).statusCode).toBe(303);
  return { user, c, password };
}

beforeAll(async () => {
  t = await createTestGatehouse();
});
afterAll(() => t?.close());

describe(`account page (${storageMode()})`, () => {
  it('shows profile, password and sessions sections with this device marked', async () => {
    const { c, user } = await member();
    const res = await c.get('/account');
    expect(res.statusCode).toBe(200);
    for (const text of [
      'Profile',
      'Password',
      'Sessions',
      'This device',
      'Chrome on Linux',
      user.username,
    ])
      expect(res.body).toContain(text);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('saves the profile and refuses hostile values at their field', async () => {
    const { c, user } = await member();
    const saved = await c.post('/account/profile', {
      name: 'Zoë <b>Bold</b>',
      email: user.email,
      picture_url: '',
    });
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe('/account?notice=profile-saved');
    const page = await c.get('/account?notice=profile-saved');
    expect(page.body).toContain('Your profile has been saved.');
    expect(page.body).toContain('Zoë &lt;b&gt;Bold&lt;/b&gt;');
    const bad = await c.post('/account/profile', {
      name: 'ok',
      email: 'not-an-email',
      picture_url: 'javascript:alert(1)',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('aria-invalid="true"');
    expect((await t.gh.accounts.findById(user.id))?.email).toBe(user.email);
    // An unknown notice code shows nothing rather than echoing the query.
    expect((await c.get('/account?notice=%3Cscript%3E')).body).not.toContain('<script>');
  });

  it('changes the password only with the current one, and signs out the other sessions', async () => {
    const { c, user, password } = await member();
    const other = createInjectClient(t.app, { ip: '10.1.1.1' });
    await other.signIn(user.username, password);
    const wrong = await c.post('/account/password', {
      current_password: 'nope nope nope',
      new_password: 'brand new password',
      new_password_confirm: 'brand new password',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('Your current password is not correct.');
    const short = await c.post('/account/password', {
      current_password: password,
      new_password: 'short',
      new_password_confirm: 'short',
    });
    expect(short.body).toMatch(
      /id="[^"]*"[^>]*name="new_password"[^>]*aria-invalid="true"|name="new_password"[^>]*aria-invalid/,
    );
    const ok = await c.post('/account/password', {
      current_password: password,
      new_password: 'brand new password',
      new_password_confirm: 'brand new password',
    });
    expect(ok.statusCode).toBe(303);
    expect((await c.get('/account')).statusCode).toBe(200); // this session lives on
    expect((await other.get('/account')).statusCode).toBe(303); // the other was signed out
  });

  it('lists and revokes my sessions, but not someone else’s', async () => {
    const { c, user, password } = await member();
    const phone = createInjectClient(t.app, { ip: '10.1.2.2' });
    await phone.signIn(user.username, password);
    const sessions = await t.gh.sessions.listForUser(user.id);
    expect(sessions).toHaveLength(2);
    const current = (await t.gh.sessions.verify(
      [...c.jar].find(([k]) => k.endsWith('session'))![1],
    ))!.id;
    const phoneId = sessions.find((s) => s.id !== current)!.id;

    const stranger = await member();
    const foreign = await stranger.c.post(`/account/sessions/${phoneId}/revoke`);
    expect(foreign.statusCode).toBe(404);
    expect((await phone.get('/account')).statusCode).toBe(200);

    const res = await c.post(`/account/sessions/${phoneId}/revoke`);
    expect(res.headers.location).toBe('/account?notice=session-revoked');
    expect((await phone.get('/account')).statusCode).toBe(303);
    expect(
      (await c.post(`/account/sessions/${"'; drop table sessions; --"}/revoke`)).statusCode,
    ).toBe(404);
  });

  it('signs out all other sessions at once', async () => {
    const { c, user, password } = await member();
    const others = [
      createInjectClient(t.app, { ip: '10.1.3.1' }),
      createInjectClient(t.app, { ip: '10.1.3.2' }),
    ];
    for (const o of others) await o.signIn(user.username, password);
    expect((await c.post('/account/sessions/revoke-others')).headers.location).toBe(
      '/account?notice=others-revoked',
    );
    for (const o of others) expect((await o.get('/account')).statusCode).toBe(303);
    expect((await c.get('/account')).statusCode).toBe(200);
  });

  it('refuses account forms without CSRF or without a session', async () => {
    const { c } = await member();
    expect(
      (await c.post('/account/profile', { name: 'x', email: 'x@example.org', _csrf: 'nope' }))
        .statusCode,
    ).toBe(403);
    const anonymous = createInjectClient(t.app);
    expect((await anonymous.post('/account/sessions/revoke-others')).statusCode).toBe(303);
  });

  it('treats a disabled member as signed out at once', async () => {
    const { c, user } = await member();
    await t.gh.accounts.setDisabled(user.id, true);
    expect((await c.get('/account')).statusCode).toBe(303);
  });
});

describe(`first administrator (${storageMode()})`, () => {
  it('creates the first administrator from the one-time setup link, once', async () => {
    const fresh = await createTestGatehouse();
    try {
      // A member created from the command line is not an administrator: the link still works.
      await fresh.gh.accounts.create({ username: 'early', email: 'early@example.org' });
      const token = await fresh.gh.oneTimeTokens.issue('setup', { ttlMs: 60_000 });
      const c = createInjectClient(fresh.app);
      const page = await c.get(`/setup/${token}`);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Create the first administrator');
      const typo = await c.post(`/setup/${token}`, {
        username: 'admin',
        email: 'admin@example.org',
        password: 'administrator pw',
        password_confirm: 'typo',
      });
      expect(typo.statusCode).toBe(400);
      const ok = await c.post(`/setup/${token}`, {
        username: 'admin',
        email: 'admin@example.org',
        password: 'administrator pw',
        password_confirm: 'administrator pw',
      });
      expect(ok.statusCode).toBe(303);
      expect((await fresh.gh.accounts.findByUsername('admin'))?.isAdmin).toBe(true);
      expect((await c.get('/')).body).toContain('Admin');
      // Used up, and pointless once an administrator exists.
      expect((await createInjectClient(fresh.app).get(`/setup/${token}`)).statusCode).toBe(410);
      const another = await fresh.gh.oneTimeTokens.issue('setup', { ttlMs: 60_000 });
      expect((await createInjectClient(fresh.app).get(`/setup/${another}`)).statusCode).toBe(410);
    } finally {
      await fresh.close();
    }
  });
});
