// Forward auth end to end: real NGINX (the operators' guide snippet) in front of two services
// told apart by Host, wiki.gatehouse.test (asking Gatehouse instance A) and
// print.gatehouse.test (asking instance B; both share the stores, as instances behind a load
// balancer do), an upstream that echoes the headers it got, and Chromium signing in.
//
// Gatehouse is at http://auth.gatehouse.test:<port> with GATEHOUSE_COOKIE_DOMAIN=gatehouse.test,
// so one sign-in covers both services. Chromium maps *.gatehouse.test to 127.0.0.1. Plain http
// on a .test name is not a secure context, so Chromium would drop Secure cookies: the test
// runs Gatehouse in dev mode, whose cookies are not Secure and have no __Secure- prefix (in
// production, over https, the session cookie is __Secure-gatehouse_session with the domain).

import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../../src/config/forward-auth.ts';
import { DISGUISED_ADMIN_PATHS } from '../../src/testing/disguised-paths.ts';
import {
  createTestGatehouse,
  createTestStores,
  type TestGatehouse,
  type TestStores,
} from '../../src/testing/test-gatehouse.ts';
import {
  type EchoUpstream,
  type RunningNginx,
  request,
  startEchoUpstream,
  startNginx,
} from '../proxies/nginx.ts';
import { launchBrowser, newContext, type ServedGatehouse, serveTestGatehouse } from './chromium.ts';

const PASSWORD = 'correct horse battery staple';
const WIKI = 'wiki.gatehouse.test';
const PRINT = 'print.gatehouse.test';
/** Like WIKI, but NGINX reaches Gatehouse through an upstream block with keepalive. */
const KEEP = 'keep.gatehouse.test';
const forwardAuth = parseForwardAuth(
  {
    domains: ['gatehouse.test'],
    rules: [
      { host: WIKI, path: '/public/*', policy: 'bypass' },
      { host: WIKI, path: '/admin/*', users: ['alice'], policy: 'signed_in' },
      { host: '*.gatehouse.test', policy: 'signed_in' },
    ],
  },
  'test',
);

let stores: TestStores;
let a: ServedGatehouse;
let b: TestGatehouse;
let upstream: EchoUpstream;
let nginx: RunningNginx;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stores = await createTestStores();
  const overrides = { dev: true, cookieDomain: 'gatehouse.test', forwardAuth };
  a = await serveTestGatehouse({ stores, overrides, hostname: 'auth.gatehouse.test' });
  b = await createTestGatehouse({ stores, overrides: { ...overrides, issuer: a.baseUrl } });
  await b.app.listen({ host: '127.0.0.1', port: 0 });
  upstream = await startEchoUpstream();
  const local = (app: TestGatehouse['app']) =>
    `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  nginx = await startNginx(
    [
      { serverName: WIKI, gatehouse: local(a.app), upstream: upstream.url },
      { serverName: PRINT, gatehouse: local(b.app), upstream: upstream.url },
      { serverName: KEEP, gatehouse: 'http://gatehouse_a', upstream: upstream.url },
    ],
    {
      extra: `upstream gatehouse_a { server ${new URL(local(a.app)).host}; keepalive 8; }`,
    },
  );
  browser = await launchBrowser({ args: ['--host-resolver-rules=MAP *.gatehouse.test 127.0.0.1'] });
  for (const username of ['alice', 'bob'])
    await a.gh.accounts.create({
      username,
      email: `${username}@example.org`,
      name: username === 'alice' ? 'Alice Example' : null,
      emailVerified: true,
      password: PASSWORD,
    });
});

afterEach(async () => {
  await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  const results = await Promise.allSettled([
    browser?.close(),
    nginx?.stop(),
    upstream?.close(),
    a?.close(),
    b?.close(),
  ]);
  await stores?.destroy();
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

/** A request to NGINX as a browser would send it: Host carries the port. */
const ask = (host: string, path: string, headers: Record<string, string> = {}) =>
  request(nginx.port, `${host}:${nginx.port}`, path, headers);

const service = (host: string, path: string) => `http://${host}:${nginx.port}${path}`;

async function sessionCookie(username: string): Promise<string> {
  const user = await a.gh.accounts.findByUsername(username);
  const { token } = await a.gh.sessions.create(user!.id);
  return `gatehouse_session=${token}`;
}

/** What the upstream received for the last request. */
function lastSeen() {
  const last = upstream.seen.at(-1);
  if (!last) throw new Error('the upstream saw nothing');
  return last;
}

describe('NGINX auth_request in front of two services', () => {
  it('passes a public path without identity, and strips forged Remote-* headers', async () => {
    const res = await ask(WIKI, '/public/logo.png', {
      'remote-user': 'admin',
      'remote-groups': 'admins',
      remote_user: 'admin',
    });
    expect(res.status).toBe(200);
    expect(lastSeen().path).toBe('/public/logo.png');
    expect(lastSeen().headers['remote-user']).toBeUndefined();
    expect(lastSeen().headers['remote-groups']).toBeUndefined();
    expect(lastSeen().headers.remote_user).toBeUndefined();
  });

  it('overwrites a forged Remote-User with the signed-in member', async () => {
    const cookie = await sessionCookie('alice');
    const res = await ask(WIKI, '/page', { cookie, 'remote-user': 'admin' });
    expect(res.status).toBe(200);
    expect(lastSeen().headers['remote-user']).toBe('alice');
    expect(lastSeen().headers['remote-email']).toBe('alice@example.org');
    expect(lastSeen().headers['remote-name']).toBe('Alice Example');
    // Gatehouse's own cookie still reaches the service: the snippet does not strip it.
    expect(lastSeen().headers.cookie).toContain('gatehouse_session=');
  });

  it('keeps its connection to Gatehouse open across requests (upstream keepalive)', async () => {
    // NGINX can reuse the connection only when the auth answer has no body; otherwise every
    // proxied request would open a new connection to Gatehouse.
    const cookie = await sessionCookie('alice');
    let opened = 0;
    const count = () => opened++;
    a.app.server.on('connection', count);
    try {
      for (let i = 0; i < 20; i++) {
        expect((await ask(KEEP, `/page/${i}`, { cookie })).status).toBe(200);
      }
    } finally {
      a.app.server.off('connection', count);
    }
    expect(lastSeen().headers['remote-user']).toBe('alice');
    expect(opened).toBeLessThanOrEqual(2);
  });

  it('sends browsers to the login page and gives scripts a 401 with a challenge', async () => {
    const page = await ask(WIKI, '/page?x=1&y=2', {
      accept: 'text/html',
      'sec-fetch-mode': 'navigate',
    });
    expect(page.status).toBe(302);
    const location = new URL(page.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe(`${a.baseUrl}/login`);
    expect(location.searchParams.get('return_to')).toBe(service(WIKI, '/page?x=1&y=2'));
    const before = upstream.seen.length;
    const curl = await ask(PRINT, '/queue', { accept: '*/*' });
    expect(curl.status).toBe(401);
    expect(curl.headers['www-authenticate']).toContain('Basic realm="Gatehouse"');
    expect(upstream.seen.length).toBe(before);
  });

  it('refuses a rule-restricted path to a member the rule does not list', async () => {
    const bob = await sessionCookie('bob');
    expect((await ask(WIKI, '/admin/', { cookie: bob })).status).toBe(403);
    expect((await ask(WIKI, '/page', { cookie: bob })).status).toBe(200);
    const alice = await sessionCookie('alice');
    expect((await ask(WIKI, '/admin/', { cookie: alice })).status).toBe(200);
  });

  it('lets no disguised path reach the bypass rule or, for bob, the admin pages', async () => {
    const bob = await sessionCookie('bob');
    for (const path of DISGUISED_ADMIN_PATHS) {
      const before = upstream.seen.length;
      const anonymous = await ask(WIKI, path);
      expect([401, 403], path).toContain(anonymous.status);
      expect(upstream.seen.length, path).toBe(before);
      const member = await ask(WIKI, path, { cookie: bob });
      if (path === '/Admin/x') {
        // Case-sensitive by default: the catch-all rule, which lets bob in (as bob).
        expect(member.status).toBe(200);
        expect(lastSeen().headers['remote-user']).toBe('bob');
        continue;
      }
      expect(member.status, path).toBe(403);
      expect(upstream.seen.length, path).toBe(before);
    }
    // NGINX passes the path on as the client sent it, which is why Gatehouse reads it both ways.
    const alice = await sessionCookie('alice');
    expect((await ask(WIKI, '/public/a;b', { cookie: alice })).status).toBe(200);
    expect(lastSeen().path).toBe('/public/a;b');
  });

  it('refuses a method or scheme a client adds beside the ones NGINX sets', async () => {
    const cookie = await sessionCookie('alice');
    // The snippet sets X-Original-Method and blanks the forwarded headers: forged ones vanish.
    const res = await ask(WIKI, '/page', {
      cookie,
      'x-original-method': 'HEAD',
      'x-forwarded-method': 'DELETE',
      'x-forwarded-proto': 'https',
      'x-forwarded-uri': '/public/x',
      'x-forwarded-host': WIKI,
    });
    expect(res.status).toBe(200);
    expect(lastSeen().path).toBe('/page');
  });

  it('refuses a revoked session on the other instance (print asks instance B)', async () => {
    const cookie = await sessionCookie('alice');
    expect((await ask(PRINT, '/queue', { cookie })).status).toBe(200);
    const session = await a.gh.sessions.verify(cookie.split('=')[1]);
    await a.gh.sessions.revoke(session!.id);
    await expect.poll(async () => (await ask(PRINT, '/queue', { cookie })).status).toBe(401);
  });
});

async function openPage(): Promise<Page> {
  const context = await newContext(browser);
  contexts.push(context);
  return context.newPage();
}

async function signIn(page: Page, username: string) {
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function echoed(page: Page): Promise<{ path: string; headers: Record<string, string> }> {
  return JSON.parse((await page.locator('#echo').textContent()) ?? '{}');
}

describe('a member in Chromium', () => {
  it('signs in once for both services, lands back where they started, and signs out of both', async () => {
    const page = await openPage();
    const start = service(WIKI, '/notes/today?sort=new');
    await page.goto(start);
    expect(new URL(page.url()).origin).toBe(a.baseUrl);
    expect(new URL(page.url()).pathname).toBe('/login');

    await signIn(page, 'alice');
    await page.waitForURL(start, { timeout: 5000 }).catch(async (err) => {
      throw new Error(
        `${err.message}\nat ${page.url()}:\n${(await page.content()).slice(0, 2000)}`,
      );
    });
    const wiki = await echoed(page);
    expect(wiki.path).toBe('/notes/today?sort=new');
    expect(wiki.headers['remote-user']).toBe('alice');
    expect(wiki.headers['remote-email']).toBe('alice@example.org');

    // The cookie is for the parent domain: the print service (instance B) knows her too.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'gatehouse_session');
    expect(cookie).toMatchObject({ domain: '.gatehouse.test', httpOnly: true });
    const csrf = (await page.context().cookies()).find((c) => c.name === 'gatehouse_csrf');
    expect(csrf?.domain).toBe('auth.gatehouse.test'); // host-only
    await page.goto(service(PRINT, '/queue'));
    expect((await echoed(page)).headers['remote-user']).toBe('alice');

    await page.goto(`${a.baseUrl}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'You have been signed out' }).waitFor();

    for (const url of [start, service(PRINT, '/queue')]) {
      await page.goto(url);
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(new URL(page.url()).searchParams.get('return_to')).toBe(url);
    }
  });

  it('is not sent to another domain after signing in', async () => {
    const page = await openPage();
    await page.goto(`${a.baseUrl}/login?return_to=${encodeURIComponent('http://evil.test/x')}`);
    await signIn(page, 'alice');
    await page.waitForURL(`${a.baseUrl}/`);
    expect(new URL(page.url()).host).toBe(new URL(a.baseUrl).host);
  });
});
