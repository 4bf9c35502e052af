// The operators' guide Caddy snippet, run by Debian's Caddy in front of an upstream that echoes
// the headers it got, with a real Gatehouse answering forward auth. What must hold on the
// Caddy people run: the member's identity arrives; a client's own Remote-User (or Remote_User)
// never does; a bypass path carries no identity header and no placeholder text; Gatehouse's
// session cookie and API tokens stay with Gatehouse.

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../../src/config/forward-auth.ts';
import { DISGUISED_ADMIN_PATHS } from '../../src/testing/disguised-paths.ts';
import { createTestGatehouse, type TestGatehouse } from '../../src/testing/test-gatehouse.ts';
import { caddyVersion, type RunningCaddy, startCaddy } from './caddy.ts';
import { type EchoUpstream, request, startEchoUpstream } from './nginx.ts';

const WIKI = 'wiki.gatehouse.test';
const ISSUER = 'http://auth.gatehouse.test:8000';
const forwardAuth = parseForwardAuth(
  {
    domains: ['gatehouse.test'],
    rules: [
      { host: WIKI, path: '/public/*', policy: 'bypass' },
      { host: WIKI, path: '/admin/*', users: ['alice'], policy: 'signed_in' },
      { host: WIKI, path: '/api/*', methods: ['POST'], policy: 'deny' },
      { host: '*.gatehouse.test', policy: 'signed_in' },
    ],
  },
  'test',
);

let t: TestGatehouse;
let upstream: EchoUpstream;
let caddy: RunningCaddy;

beforeAll(async () => {
  t = await createTestGatehouse({
    overrides: { dev: true, issuer: ISSUER, cookieDomain: 'gatehouse.test', forwardAuth },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  upstream = await startEchoUpstream();
  caddy = await startCaddy([
    {
      host: WIKI,
      gatehouse: `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`,
      upstream: new URL(upstream.url).host,
    },
  ]);
  for (const username of ['alice', 'bob'])
    await t.gh.accounts.create({
      username,
      email: `${username}@example.org`,
      name: username === 'alice' ? 'Alice Example' : null,
      // bob's address is unverified: Gatehouse sends no Remote-Email for him.
      emailVerified: username === 'alice',
      password: 'correct horse battery staple',
    });
});

afterAll(async () => {
  const results = await Promise.allSettled([caddy?.stop(), upstream?.close(), t?.close()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

const ask = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  request(caddy.port, `${WIKI}:${caddy.port}`, path, headers, method);

async function session(username: string): Promise<string> {
  const user = await t.gh.accounts.findByUsername(username);
  return (await t.gh.sessions.create(user!.id)).token;
}

/** What the upstream received for the last request. */
function lastSeen() {
  const last = upstream.seen.at(-1);
  if (!last) throw new Error('the upstream saw nothing');
  return last;
}

/** Header names the upstream got that a CGI-style server would read as REMOTE_*. */
const remoteHeaders = (headers: Record<string, unknown>) =>
  Object.keys(headers).filter((h) => /^remote[-_]/i.test(h));

const FORGED = {
  'Remote-User': 'admin',
  Remote_User: 'admin',
  REMOTE_EMAIL: 'admin@evil.test',
  'remote-groups': 'admins',
};

describe(`the Caddy snippet on Caddy ${caddyVersion().split(' ')[0]}`, () => {
  it('passes a signed-in member with the identity from Gatehouse and nothing the client sent', async () => {
    const token = await session('alice');
    const res = await ask('/page', { ...FORGED, cookie: `gatehouse_session=${token}` });
    expect(res.status, caddy.log()).toBe(200);
    const seen = lastSeen();
    expect(seen.path).toBe('/page');
    expect(seen.headers['remote-user']).toBe('alice');
    expect(seen.headers['remote-email']).toBe('alice@example.org');
    expect(seen.headers['remote-name']).toBe('Alice Example');
    expect(remoteHeaders(seen.headers).sort()).toEqual(
      ['remote-email', 'remote-groups', 'remote-name', 'remote-user'].filter(
        (h) => seen.headers[h] !== undefined,
      ),
    );
    expect(JSON.stringify(seen.headers)).not.toContain('admin');
  });

  it('passes a member with an unverified address without Remote-Email, and no placeholder', async () => {
    const token = await session('bob');
    const res = await ask('/page', { ...FORGED, cookie: `gatehouse_session=${token}` });
    expect(res.status, caddy.log()).toBe(200);
    const seen = lastSeen();
    expect(seen.headers['remote-user']).toBe('bob');
    expect(seen.headers['remote-email']).toBeUndefined();
    expect(Object.values(seen.headers).join('\n')).not.toContain('{http.');
    expect(JSON.stringify(seen.headers)).not.toContain('admin');
  });

  it('passes a bypass path with no identity header and no placeholder text', async () => {
    const res = await ask('/public/logo.png', FORGED);
    expect(res.status).toBe(200);
    const seen = lastSeen();
    expect(seen.path).toBe('/public/logo.png');
    expect(remoteHeaders(seen.headers)).toEqual([]);
    expect(Object.values(seen.headers).join('\n')).not.toContain('{http.');
    // Signed in on a bypass path: still no identity (Gatehouse sends none for bypass rules).
    const token = await session('alice');
    await ask('/public/logo.png', { cookie: `gatehouse_session=${token}` });
    expect(remoteHeaders(lastSeen().headers)).toEqual([]);
    expect(Object.values(lastSeen().headers).join('\n')).not.toContain('{http.');
  });

  it("keeps Gatehouse's session cookie and API tokens away from the service", async () => {
    const token = await session('alice');
    const cookies = [
      `gatehouse_session=${token}`,
      `theme=dark; gatehouse_session=${token}; __Secure-gatehouse_session=x; lang=en`,
      `theme=dark; gatehouse_session=${token}`,
    ];
    for (const cookie of cookies) {
      expect((await ask('/page', { cookie })).status).toBe(200);
      const sent = String(lastSeen().headers.cookie ?? '');
      expect(sent).not.toContain('gatehouse_session');
      for (const own of ['theme=dark', 'lang=en'])
        if (cookie.includes(own)) expect(sent).toContain(own);
    }
    expect(lastSeen().headers.cookie).toBe('theme=dark');
    expect((await ask('/page', { cookie: cookies[0]! })).status).toBe(200);
    expect(lastSeen().headers.cookie).toBeUndefined();

    const cookie = `gatehouse_session=${token}`;
    for (const authorization of [
      'Bearer gth_api_0123456789abcdef',
      'bearer  gth_api_0123456789abcdef',
      `Basic ${Buffer.from('alice:gth_api_0123456789abcdef').toString('base64')}`,
    ]) {
      expect((await ask('/page', { cookie, authorization })).status).toBe(200);
      expect(lastSeen().headers.authorization, authorization).toBeUndefined();
    }
    // A JWT access token Gatehouse issued for this service is the service's to check.
    const jwt = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    expect((await ask('/page', { cookie, authorization: jwt })).status).toBe(200);
    expect(lastSeen().headers.authorization).toBe(jwt);
  });

  it("passes Gatehouse's refusals to the client and nothing to the service", async () => {
    const before = upstream.seen.length;
    const browser = await ask('/page', {
      accept: 'text/html',
      'sec-fetch-mode': 'navigate',
    });
    expect(browser.status).toBe(302);
    expect(browser.headers.location).toBe(
      `${ISSUER}/login?return_to=${encodeURIComponent(`http://${WIKI}:${caddy.port}/page`)}`,
    );
    const script = await ask('/page');
    expect(script.status).toBe(401);
    expect(script.headers['www-authenticate']).toContain('Basic');
    const bob = await session('bob');
    expect((await ask('/admin/x', { cookie: `gatehouse_session=${bob}` })).status).toBe(403);
    expect(upstream.seen.length).toBe(before);
  });

  it('refuses a client that adds X-Original-Method to dodge a methods rule', async () => {
    const cookie = `gatehouse_session=${await session('alice')}`;
    const before = upstream.seen.length;
    expect((await ask('/api/x', { cookie }, 'POST')).status).toBe(403);
    const spoof = await ask('/api/x', { cookie, 'x-original-method': 'GET' }, 'POST');
    expect(spoof.status).toBe(400);
    expect(spoof.body).toContain('X-Original-Method and X-Forwarded-Method');
    expect(upstream.seen.length).toBe(before);
  });

  it('lets no disguised path reach the bypass rule', async () => {
    const before = upstream.seen.length;
    for (const path of DISGUISED_ADMIN_PATHS) {
      const res = await ask(path);
      expect([401, 403], path).toContain(res.status);
    }
    expect(upstream.seen.length).toBe(before);
  });
});
