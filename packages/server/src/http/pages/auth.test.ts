import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInjectClient } from '../../testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../testing/test-gatehouse.ts';

const PASSWORD = 'correct horse battery';
let t: TestGatehouse;
let ip = 0;
/** A fresh client address per test, so sign-in limits from one test do not leak into another. */
const client = (headers: Record<string, string> = {}) =>
  createInjectClient(t.app, { ip: `10.0.${Math.floor(++ip / 250)}.${ip % 250}`, headers });
const sessionCookie = (c: ReturnType<typeof client>) =>
  [...c.jar].find(([k]) => k.endsWith('gatehouse_session'))?.[1];

beforeAll(async () => {
  t = await createTestGatehouse({
    throttle: { freeFailuresPerAccount: 3, maxFailuresPerAddress: 20 },
  });
  await t.gh.accounts.create({
    username: 'alice',
    email: 'alice@example.org',
    name: 'Alice',
    password: PASSWORD,
  });
});
afterAll(() => t?.close());

describe(`sign in (${storageMode()})`, () => {
  it('shows the login form with the labelled fields and a CSRF cookie', async () => {
    const c = client();
    const res = await c.get('/login');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('>Username or email</label>');
    expect(res.body).toContain('>Password</label>');
    expect(res.body).toContain('>Sign in</button>');
    expect(c.csrf()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toContain('__Host-gatehouse_csrf=');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
  });

  it('signs in with username or email, sets a strict session cookie and shows the portal', async () => {
    for (const login of ['alice', 'ALICE@example.org']) {
      const c = client();
      const res = await c.signIn(login, PASSWORD);
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/');
      const cookie = [res.headers['set-cookie'] ?? []]
        .flat()
        .find((h) => h.startsWith('__Host-gatehouse_session='))!;
      expect(cookie).toMatch(/; Path=\/(;|$)/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/Secure/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).not.toMatch(/Domain=/i);
      const portal = await c.get('/');
      expect(portal.statusCode).toBe(200);
      expect(portal.body).toContain('No services yet');
    }
  });

  it('answers a wrong password and an unknown account with the same generic message', async () => {
    const wrong = await client().signIn('alice', 'not the password');
    const unknown = await client().signIn('nobody-here', 'not the password');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const message = (body: string) => /role="alert"[^>]*>[\s\S]*?<p>(.*?)<\/p>/.exec(body)?.[1];
    expect(message(wrong.body)).toBe('The username, email or password is not correct.');
    expect(message(unknown.body)).toBe(message(wrong.body));
    expect(wrong.body).not.toContain('not the password');
  });

  it('gives a new session id at every sign-in and ends the previous one', async () => {
    const c = client();
    await c.signIn('alice', PASSWORD);
    const first = sessionCookie(c)!;
    await c.signIn('alice', PASSWORD);
    const second = sessionCookie(c)!;
    expect(second).not.toBe(first);
    expect(await t.gh.sessions.verify(first)).toBeNull();
    expect(await t.gh.sessions.verify(second)).not.toBeNull();
  });

  it('returns to the page first asked for, and never to another site', async () => {
    const c = client();
    const account = await c.get('/account');
    expect(account.statusCode).toBe(303);
    expect(account.headers.location).toBe('/login?return_to=%2Faccount');
    const login = await c.get('/login?return_to=%2Faccount');
    expect(login.body).toContain('name="return_to" value="/account"');
    expect(
      (await c.post('/login', { username: 'alice', password: PASSWORD, return_to: '/account' }))
        .headers.location,
    ).toBe('/account');
    for (const evil of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
      `/${'a'.repeat(3000)}`,
    ]) {
      const res = await client().post('/login', {
        username: 'alice',
        password: PASSWORD,
        return_to: evil,
      });
      expect(res.headers.location).toBe('/');
    }
  });

  it('keeps a signed-in member on Gatehouse when the return path resolves to "//host"', async () => {
    // Each of these resolves to the path "//evil.test/…", which a browser reads, as a relative
    // Location, as another host. GET (rd and return_to) and POST use the same check.
    const tricks = [
      '/.//evil.test/phish',
      '/x/..//evil.test',
      '/%2e//evil.test',
      '/./\\evil.test',
      '/.//evil.test/phish?q=1#f',
    ];
    const origin = new URL(t.gh.config.issuer).origin;
    const stays = (location: unknown) => {
      expect(typeof location).toBe('string');
      expect(String(location).startsWith('//')).toBe(false);
      expect(new URL(String(location), `${origin}/login`).origin).toBe(origin);
    };
    const member = client();
    expect((await member.signIn('alice', PASSWORD)).statusCode).toBe(303);
    for (const trick of tricks) {
      for (const param of ['rd', 'return_to']) {
        const res = await member.get(`/login?${param}=${encodeURIComponent(trick)}`);
        expect(res.statusCode, trick).toBe(303);
        stays(res.headers.location);
      }
      const form = await client().get(`/login?rd=${encodeURIComponent(trick)}`);
      expect(form.body).not.toContain('value="//');
      const posted = await client().post('/login', {
        username: 'alice',
        password: PASSWORD,
        return_to: trick,
      });
      expect(posted.statusCode, trick).toBe(303);
      stays(posted.headers.location);
    }
    const first = await member.get(`/login?rd=${encodeURIComponent(tricks[0]!)}`);
    expect(first.headers.location).toBe(`${origin}//evil.test/phish`);
  });

  it('refuses a form without the CSRF token, with a wrong one, or from another site', async () => {
    const c = client();
    await c.get('/login');
    const missing = await c.post('/login', { username: 'alice', password: PASSWORD, _csrf: '' });
    expect(missing.statusCode).toBe(403);
    expect(missing.body).toContain('This form has expired');
    const wrong = await c.post('/login', {
      username: 'alice',
      password: PASSWORD,
      _csrf: 'A'.repeat(43),
    });
    expect(wrong.statusCode).toBe(403);
    const crossSite = await c.post(
      '/login',
      { username: 'alice', password: PASSWORD },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.statusCode).toBe(403);
    const foreignOrigin = await c.post(
      '/login',
      { username: 'alice', password: PASSWORD },
      { origin: 'https://evil.example' },
    );
    expect(foreignOrigin.statusCode).toBe(403);
    expect(sessionCookie(c)).toBeUndefined();
  });

  it('limits guesses per account with a short back-off, without telling whether it exists', async () => {
    const attacker = client();
    for (let i = 0; i < 4; i++)
      expect((await attacker.signIn('alice', `guess ${i}`)).statusCode).toBe(401);
    const locked = await attacker.signIn('alice', PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.body).toContain('Too many sign-in attempts');
    // The same answer for an account that does not exist.
    const ghost = client();
    for (let i = 0; i < 4; i++) await ghost.signIn('ghost', `guess ${i}`);
    expect((await ghost.signIn('ghost', 'guess')).statusCode).toBe(429);
    // The real owner waits out a short lock, then signs in.
    await expect
      .poll(async () => (await client().signIn('alice', PASSWORD)).statusCode, {
        timeout: 5000,
        interval: 250,
      })
      .toBe(303);
  });

  it('limits guesses per client address across accounts', async () => {
    const c = client();
    for (let i = 0; i < 20; i++) await c.signIn(`spray${i}`, 'password123');
    const res = await c.signIn('alice', PASSWORD);
    expect(res.statusCode).toBe(429);
    expect((await client().signIn('alice', PASSWORD)).statusCode).toBe(303);
  });

  it('handles hostile input on the login form without errors or reflection', async () => {
    const cases: Array<Record<string, string | string[]>> = [
      { username: "' OR 1=1 --", password: "' OR 1=1 --" },
      { username: 'аlice', password: PASSWORD }, // Cyrillic а
      { username: '<script>alert(1)</script>', password: 'x' },
      { username: 'alice\u0000', password: PASSWORD },
      { username: ['alice', 'bob'], password: PASSWORD },
      { username: 'alice', password: 'p'.repeat(60_000) },
      { username: '', password: '' },
    ];
    for (const form of cases) {
      const res = await client().post('/login', form);
      expect([400, 401]).toContain(res.statusCode);
      expect(res.body).not.toContain('<script>alert(1)</script>');
      expect(res.body).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  it('refuses a 1 MB password as too large, before reading it', async () => {
    const res = await client().post('/login', {
      username: 'alice',
      password: 'p'.repeat(1024 * 1024),
    });
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain('larger than Gatehouse accepts');
  });

  it('refuses a malformed form body and a wrong content type', async () => {
    const c = client();
    await c.get('/login');
    const json = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      payload: '{"username":',
    });
    expect(json.statusCode).toBe(400);
    const xml = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/xml', accept: 'text/html' },
      payload: '<a/>',
    });
    expect(xml.statusCode).toBe(415);
  });

  it('ignores malformed and forged session cookies', async () => {
    for (const value of [
      'garbage',
      'gth_sess_' + '0'.repeat(81),
      '%00%ff',
      'x'.repeat(4000),
      `gth_sess_${crypto.randomUUID().replaceAll('-', '')}${'A'.repeat(49)}`,
    ]) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/account',
        headers: { cookie: `__Host-gatehouse_session=${value}`, accept: 'text/html' },
      });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toContain('/login');
    }
  });

  it('signs out with a POST, ends the session everywhere and clears the cookie', async () => {
    const c = client();
    await c.signIn('alice', PASSWORD);
    const token = sessionCookie(c)!;
    const confirm = await c.get('/logout');
    expect(confirm.statusCode).toBe(200);
    expect(await t.gh.sessions.verify(token)).not.toBeNull(); // GET alone does nothing
    const res = await c.post('/logout');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('You have been signed out');
    expect(await t.gh.sessions.verify(token)).toBeNull();
    expect(sessionCookie(c)).toBeUndefined();
    expect((await c.get('/')).statusCode).toBe(303);
  });
});

describe(`registration (${storageMode()})`, () => {
  it('is by invitation by default: the page says so and the form is refused', async () => {
    const page = await client().get('/register');
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('Sign-ups are by invitation');
    const post = await client().post('/register', {
      username: 'eve',
      email: 'eve@example.org',
      password: 'long enough pw',
      password_confirm: 'long enough pw',
    });
    expect(post.statusCode).toBe(403);
    expect(await t.gh.accounts.findByUsername('eve')).toBeNull();
  });

  it('when open, registers and signs in, with per-field errors for bad input', async () => {
    const open = await createTestGatehouse({
      stores: t.stores,
      overrides: { registration: 'open' },
    });
    try {
      const c = createInjectClient(open.app, { ip: '10.9.9.9' });
      expect((await c.get('/login')).body).toContain('Create an account');
      const bad = await c.post('/register', {
        username: 'аlice',
        email: 'nope',
        password: 'short',
        password_confirm: 'short',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('aria-invalid="true"');
      const taken = await c.post('/register', {
        username: 'ALICE',
        email: 'new@example.org',
        password: 'long enough pw',
        password_confirm: 'long enough pw',
      });
      expect(taken.body).toContain('That username is taken');
      const ok = await c.post('/register', {
        username: 'newbie',
        email: 'newbie@example.org',
        name: 'Nëw Bïe',
        password: 'long enough pw',
        password_confirm: 'long enough pw',
      });
      expect(ok.statusCode).toBe(303);
      expect((await c.get('/')).body).toContain('Nëw Bïe');
    } finally {
      await open.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('closed: no page, no form', async () => {
    const closed = await createTestGatehouse({
      stores: t.stores,
      overrides: { registration: 'closed' },
    });
    try {
      const res = await createInjectClient(closed.app).get('/register');
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('Registration is closed');
    } finally {
      await closed.close(); // shares the suite's stores, which it leaves open
    }
  });
});

describe(`one-time links (${storageMode()})`, () => {
  it('sets a password through a link once, then refuses it', async () => {
    const user = await t.gh.accounts.create({ username: 'linked', email: 'linked@example.org' });
    const token = await t.gh.oneTimeTokens.issue('rst', { userId: user.id, ttlMs: 60_000 });
    const c = client();
    const page = await c.get(`/reset/${token}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Choose your password');
    const mismatch = await c.post(`/reset/${token}`, {
      password: 'a new password',
      password_confirm: 'other',
    });
    expect(mismatch.statusCode).toBe(400);
    const ok = await c.post(`/reset/${token}`, {
      password: 'a new password',
      password_confirm: 'a new password',
    });
    expect(ok.statusCode).toBe(303);
    expect(await t.gh.accounts.authenticate('linked', 'a new password')).not.toBeNull();
    expect((await client().get(`/reset/${token}`)).statusCode).toBe(410);
    expect((await client().get('/reset/gth_rst_forged')).statusCode).toBe(410);
  });
});
