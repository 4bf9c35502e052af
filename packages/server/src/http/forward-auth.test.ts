// /auth/verify through app.inject(): every proxy's header style, each policy, sessions and
// API tokens, revocation across instances sharing stores, and hostile input.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../config/forward-auth.ts';
import type { AccessDecider } from '../forward-auth/forward-auth.ts';
import type { ClaimSteps } from '../principals/principals.ts';
import { DISGUISED_ADMIN_PATHS } from '../testing/disguised-paths.ts';
import { createInjectClient } from '../testing/inject-client.ts';
import {
  createTestGatehouse,
  createTestStores,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';
import { safeReturnTo } from './return-to.ts';

const PASSWORD = 'correct horse battery staple';
const ISSUER = 'https://auth.example.org';
const forwardAuth = parseForwardAuth(
  {
    domains: ['example.org'],
    rules: [
      { host: 'wiki.example.org', path: '/public/*', policy: 'bypass' },
      { host: 'wiki.example.org', path: '/admin/*', users: ['alice'], policy: 'signed_in' },
      { host: 'wiki.example.org', path: '/closed/*', policy: 'deny' },
      {
        host: 'wiki.example.org',
        path: '/workshop/*',
        groups: 'members/workshop',
        policy: 'signed_in',
      },
      { host: 'wiki.example.org', path: '/api/*', methods: ['POST'], policy: 'deny' },
      { host: ['wiki.example.org', '*.example.org'], policy: 'signed_in' },
      { name: 'alice-only', users: ['alice'], policy: 'signed_in' },
    ],
  },
  'test',
);

const TOKENS: Record<string, string> = {};
let verifierCalls = 0;
const bearerClaim: ClaimSteps['bearerClaim'] = async (token) => {
  verifierCalls++;
  const userId = typeof token === 'string' ? TOKENS[token] : undefined;
  return userId
    ? {
        via: 'api_token',
        userId,
        tokenId: token as string,
        scopes: ['read', 'proxy'],
        expiresAt: null,
      }
    : { refused: 'invalid' };
};
const groups: Record<string, string[]> = {};
const access: AccessDecider = {
  async decide(userId, expression) {
    return (groups[userId] ?? []).some((g) => g === expression || g.startsWith(`${expression}/`));
  },
  async groupsOf(userId) {
    return groups[userId] ?? [];
  },
};
const forwardAuthOptions = {
  access,
  bearerClaim,
  validateExpression: (text: string) => {
    if (!/^[a-z/]+$/.test(text)) throw new Error('not a group path');
  },
};

let stores: TestStores;
let t: TestGatehouse;
let second: TestGatehouse;
let alice: { id: string };
let bob: { id: string };

beforeAll(async () => {
  stores = await createTestStores();
  const overrides = { issuer: ISSUER, forwardAuth };
  t = await createTestGatehouse({ stores, overrides, forwardAuth: forwardAuthOptions });
  second = await createTestGatehouse({ stores, overrides, forwardAuth: forwardAuthOptions });
  alice = await t.gh.accounts.create({
    username: 'alice',
    email: 'alice@example.org',
    name: 'Alice Zoë Example',
    emailVerified: true,
    password: PASSWORD,
  });
  bob = await t.gh.accounts.create({
    username: 'bob',
    email: 'bob@example.org',
    password: PASSWORD,
  });
  groups[alice.id] = ['members/workshop/laser', 'members'];
});

afterAll(async () => {
  await Promise.allSettled([t?.close(), second?.close()]);
  await stores?.destroy();
});

async function signedIn(username: string) {
  const client = createInjectClient(t.app);
  const res = await client.signIn(username, PASSWORD);
  expect(res.statusCode).toBe(303);
  const name = [...client.jar.keys()].find((k) => k.endsWith('gatehouse_session'))!;
  return { client, cookie: `${name}=${client.jar.get(name)}` };
}

/** NGINX style: the URL in X-Original-URL. */
function nginx(app: TestGatehouse['app'], url: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'GET',
    url: '/auth/verify',
    headers: { 'x-original-url': url, ...headers },
  });
}

/** Traefik / Caddy style: X-Forwarded-*. */
function forwarded(
  host: string,
  uri: string,
  headers: Record<string, string> = {},
  path = '/auth/verify',
) {
  return t.app.inject({
    method: 'GET',
    url: path,
    headers: {
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': host,
      'x-forwarded-uri': uri,
      ...headers,
    },
  });
}

const BROWSER = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };

describe('/auth/verify answers', () => {
  it('a 200 with only what the proxy reads, and refusals with the security headers', async () => {
    const { cookie } = await signedIn('alice');
    const ok = await nginx(t.app, 'https://wiki.example.org/page', { cookie });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('');
    expect(ok.headers['remote-user']).toBe('alice');
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.headers['content-length']).toBe('0');
    expect(ok.headers['x-frame-options']).toBeUndefined();
    expect(ok.headers['content-security-policy']).toBeUndefined();
    const bypass = await nginx(t.app, 'https://wiki.example.org/public/x');
    expect(bypass.statusCode).toBe(200);
    expect(bypass.headers['cache-control']).toBe('no-store');
    expect(bypass.headers['remote-user']).toBeUndefined();
    for (const refused of [
      await nginx(t.app, 'https://wiki.example.org/page', BROWSER),
      await nginx(t.app, 'https://wiki.example.org/closed/x', { cookie }),
    ]) {
      expect(refused.headers['x-frame-options']).toBe('DENY');
      expect(refused.headers['content-security-policy']).toContain("default-src 'none'");
      expect(refused.headers['cache-control']).toBe('no-store');
    }
  });
});

describe('/auth/verify for a signed-out visitor', () => {
  it('answers NGINX with 401 and the login URL in Location for a browser navigation', async () => {
    const res = await nginx(t.app, 'https://wiki.example.org/page?x=1&y=2', BROWSER);
    expect(res.statusCode).toBe(401);
    const location = new URL(res.headers.location as string);
    expect(location.origin + location.pathname).toBe(`${ISSUER}/login`);
    expect(location.searchParams.get('return_to')).toBe('https://wiki.example.org/page?x=1&y=2');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers Traefik and Caddy with a 302 to the login page for a browser navigation', async () => {
    const res = await forwarded('wiki.example.org', '/page', BROWSER);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(
      `${ISSUER}/login?return_to=${encodeURIComponent('https://wiki.example.org/page')}`,
    );
  });

  it('answers scripts and command-line clients with a plain 401 and a Basic challenge', async () => {
    const script = await forwarded('wiki.example.org', '/api', {
      accept: 'application/json',
      'sec-fetch-mode': 'cors',
    });
    expect(script.statusCode).toBe(401);
    expect(script.headers.location).toBeUndefined();
    expect(script.headers['www-authenticate']).toBeUndefined();
    const curl = await nginx(t.app, 'https://wiki.example.org/dav/', { accept: '*/*' });
    expect(curl.statusCode).toBe(401);
    expect(curl.headers['www-authenticate']).toBe('Basic realm="Gatehouse", charset="UTF-8"');
    const post = await forwarded('wiki.example.org', '/x', {
      ...BROWSER,
      'x-forwarded-method': 'POST',
    });
    expect(post.statusCode).toBe(401);
  });

  it('sends no redirect to a host outside the configured domains', async () => {
    const set = parseForwardAuth(
      { rules: [{ policy: 'signed_in' }], domains: ['example.org'] },
      'x',
    );
    t.gh.forwardAuth.reload(set);
    try {
      const res = await nginx(t.app, 'https://evil.example.net/', BROWSER);
      expect(res.statusCode).toBe(401);
      expect(res.headers.location).toBeUndefined();
    } finally {
      t.gh.forwardAuth.reload(forwardAuth);
    }
  });

  it('lets bypass rules through with no identity, and refuses deny rules and unmatched URLs', async () => {
    const open = await nginx(t.app, 'https://wiki.example.org/public/logo.png');
    expect(open.statusCode).toBe(200);
    expect(open.headers['remote-user']).toBeUndefined();
    expect((await nginx(t.app, 'https://wiki.example.org/closed/x')).statusCode).toBe(403);
    expect((await nginx(t.app, 'https://elsewhere.test/')).statusCode).toBe(403);
  });
});

describe('/auth/verify for a signed-in member', () => {
  it('answers 200 with the identity headers, in both header styles', async () => {
    const { cookie } = await signedIn('alice');
    for (const res of [
      await nginx(t.app, 'https://wiki.example.org/page', { cookie }),
      await forwarded('print.example.org', '/queue', { cookie }),
    ]) {
      expect(res.statusCode).toBe(200);
      // Empty, so NGINX can keep its connection open (see the NGINX test in test/browser).
      expect(res.body).toBe('');
      expect(res.headers['content-length']).toBe('0');
      expect(res.headers['remote-user']).toBe('alice');
      expect(res.headers['remote-email']).toBe('alice@example.org');
      // UTF-8 bytes on the wire; inject reads them back as latin1.
      expect(Buffer.from(res.headers['remote-name'] as string, 'latin1').toString('utf8')).toBe(
        'Alice Zoë Example',
      );
      expect(res.headers['remote-groups']).toBe('members/workshop/laser,members');
    }
  });

  it('sends Remote-Email only for a verified address', async () => {
    const { cookie } = await signedIn('bob');
    const res = await nginx(t.app, 'https://print.example.org/queue', { cookie });
    expect(res.statusCode).toBe(200);
    expect(res.headers['remote-user']).toBe('bob');
    expect(res.headers).not.toHaveProperty('remote-email');
  });

  it('refuses with 403 what the rule does not allow this member', async () => {
    const { cookie } = await signedIn('bob');
    expect((await nginx(t.app, 'https://wiki.example.org/admin/x', { cookie })).statusCode).toBe(
      403,
    );
    expect((await nginx(t.app, 'https://wiki.example.org/workshop/', { cookie })).statusCode).toBe(
      403,
    );
    expect((await nginx(t.app, 'https://wiki.example.org/page', { cookie })).statusCode).toBe(200);
    const a = await signedIn('alice');
    expect(
      (await nginx(t.app, 'https://wiki.example.org/admin/x', { cookie: a.cookie })).statusCode,
    ).toBe(200);
    expect(
      (await nginx(t.app, 'https://wiki.example.org/workshop/', { cookie: a.cookie })).statusCode,
    ).toBe(200);
  });

  it('applies the rule the proxy names with ?rule=', async () => {
    const a = await signedIn('alice');
    const b = await signedIn('bob');
    const url = (rule: string) => `/auth/verify?rule=${rule}`;
    const ask = (cookie: string, rule: string) =>
      t.app.inject({
        url: url(rule),
        headers: { cookie, 'x-original-url': 'https://anything.example.org/' },
      });
    expect((await ask(a.cookie, 'alice-only')).statusCode).toBe(200);
    expect((await ask(b.cookie, 'alice-only')).statusCode).toBe(403);
    expect((await ask(a.cookie, 'no-such-rule')).statusCode).toBe(403);
    expect((await ask(a.cookie, 'bad%20name')).statusCode).toBe(400);
    expect((await ask(a.cookie, 'alice-only&rule=other')).statusCode).toBe(400);
  });

  it('follows group changes at once (access.changed)', async () => {
    const { cookie } = await signedIn('bob');
    const url = 'https://wiki.example.org/workshop/';
    expect((await nginx(t.app, url, { cookie })).statusCode).toBe(403);
    groups[bob.id] = ['members/workshop'];
    await t.gh.events.emit({ type: 'access.changed', userIds: [bob.id] });
    const res = await nginx(t.app, url, { cookie });
    expect(res.statusCode).toBe(200);
    expect(res.headers['remote-groups']).toBe('members/workshop');
    delete groups[bob.id];
    await t.gh.events.emit({ type: 'access.changed', userIds: [bob.id] });
    expect((await nginx(t.app, url, { cookie })).statusCode).toBe(403);
  });

  it('refuses a signed-out session at once, here and on a second instance sharing the stores', async () => {
    const { client, cookie } = await signedIn('alice');
    const url = 'https://wiki.example.org/page';
    expect((await nginx(t.app, url, { cookie })).statusCode).toBe(200);
    expect((await nginx(second.app, url, { cookie })).statusCode).toBe(200);
    expect((await client.post('/logout')).statusCode).toBe(200);
    expect((await nginx(t.app, url, { cookie })).statusCode).toBe(401);
    // The revocation reaches the other instance through pub/sub (Redis) or its shared bus.
    await expect.poll(async () => (await nginx(second.app, url, { cookie })).statusCode).toBe(401);
  });

  it('refuses a disabled member at once', async () => {
    const carol = await t.gh.accounts.create({
      username: 'carol',
      email: 'carol@example.org',
      password: PASSWORD,
    });
    const { cookie } = await signedIn('carol');
    const url = 'https://wiki.example.org/page';
    expect((await nginx(t.app, url, { cookie })).statusCode).toBe(200);
    await t.gh.accounts.setDisabled(carol.id, true);
    expect((await nginx(t.app, url, { cookie })).statusCode).toBe(401);
  });
});

describe('/auth/verify with API tokens', () => {
  it('accepts Bearer and Basic (token as password), verifying once per lease', async () => {
    TOKENS.gth_api_alice = alice.id;
    verifierCalls = 0;
    const url = 'https://wiki.example.org/dav/file';
    const basic = `Basic ${Buffer.from('whoever:gth_api_alice').toString('base64')}`;
    for (let i = 0; i < 3; i++) {
      const res = await nginx(t.app, url, { authorization: basic });
      expect(res.statusCode).toBe(200);
      expect(res.headers['remote-user']).toBe('alice');
    }
    const bearer = await nginx(t.app, url, { authorization: 'Bearer gth_api_alice' });
    expect(bearer.statusCode).toBe(200);
    expect(verifierCalls).toBe(1);
    // A revocation event for the owner ends the lease.
    await t.gh.events.emit({ type: 'user.changed', userId: alice.id });
    delete TOKENS.gth_api_alice;
    expect((await nginx(t.app, url, { authorization: basic })).statusCode).toBe(401);
    expect(verifierCalls).toBe(2);
  });

  it('refuses unknown, malformed and oversized credentials with a challenge and no redirect', async () => {
    for (const authorization of [
      'Bearer nope',
      'Basic !!!',
      `Basic ${Buffer.from('user-without-password').toString('base64')}`,
      `Basic ${Buffer.from('user:').toString('base64')}`,
      'Digest abc',
      'Bearer',
      `Bearer ${'x'.repeat(5000)}`,
    ]) {
      const res = await nginx(t.app, 'https://wiki.example.org/page', {
        authorization,
        ...BROWSER,
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['www-authenticate']).toContain('Basic');
      expect(res.body).not.toContain('xxxxxxxx');
    }
  });
});

describe('/auth/verify with hostile input', () => {
  it('refuses headers that disagree: a client cannot pick the URL that is checked', async () => {
    const { cookie } = await signedIn('bob');
    // Behind Traefik, a client adds X-Original-URL for a page it may see.
    const res = await forwarded('wiki.example.org', '/admin/x', {
      cookie,
      'x-original-url': 'https://wiki.example.org/public/x',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('describe different requests');
    const agree = await forwarded('wiki.example.org', '/public/x?a=1', {
      'x-original-url': 'https://wiki.example.org/public/x?a=1',
    });
    expect(agree.statusCode).toBe(200);
  });

  it('refuses every pair of headers that disagree: method, scheme, host, path', async () => {
    const { cookie } = await signedIn('alice');
    // Behind Traefik or Caddy, a client adds X-Original-Method to dodge a methods: [POST] rule.
    const spoof = await forwarded('wiki.example.org', '/api/x', {
      cookie,
      'x-forwarded-method': 'POST',
      'x-original-method': 'GET',
    });
    expect(spoof.statusCode).toBe(400);
    expect(spoof.body).toContain(
      'X-Original-Method and X-Forwarded-Method describe different requests (the method differs)',
    );
    const post = await forwarded('wiki.example.org', '/api/x', {
      cookie,
      'x-forwarded-method': 'POST',
    });
    expect(post.statusCode).toBe(403);
    const same = await forwarded('wiki.example.org', '/api/x', {
      cookie,
      'x-forwarded-method': 'post',
      'x-original-method': 'POST',
    });
    expect(same.statusCode).toBe(403);
    expect((await forwarded('wiki.example.org', '/api/x', { cookie })).statusCode).toBe(200);

    const url = 'https://wiki.example.org/page?a=1';
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'x-original-method': 'GET', 'x-forwarded-method': 'DELETE' }, 'method'],
      [{ 'x-original-url': url, 'x-forwarded-proto': 'http' }, 'scheme'],
      [{ 'x-original-url': url, 'x-forwarded-host': 'print.example.org' }, 'host'],
      [{ 'x-original-url': url, 'x-forwarded-host': 'wiki.example.org:8443' }, 'host'],
      [
        { 'x-original-url': url, 'x-forwarded-host': 'wiki.example.org', 'x-forwarded-uri': '/' },
        'path and query',
      ],
      [
        {
          'x-original-url': url,
          'x-forwarded-host': 'wiki.example.org',
          'x-forwarded-uri': '/page?a=2',
        },
        'path and query',
      ],
    ];
    for (const [headers, part] of cases) {
      const res = await nginx(t.app, url, { cookie, ...headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(400);
      expect(res.body).toContain(`(the ${part} differs)`);
    }
    // Headers that agree (as NGINX snippets that send both styles produce) are fine.
    const agree = await nginx(t.app, url, {
      cookie,
      'x-original-method': 'GET',
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'WIKI.example.org',
      'x-forwarded-uri': '/page?a=1',
    });
    expect(agree.statusCode).toBe(200);
  });

  it('never lets a disguised path reach a rule its service would not apply', async () => {
    const { cookie } = await signedIn('bob'); // not listed on /admin/*
    const disguises = [...DISGUISED_ADMIN_PATHS, '/public/%252e%252e%252fadmin/x'];
    for (const path of disguises) {
      for (const ask of [
        () => nginx(t.app, `https://wiki.example.org${path}`),
        () => forwarded('wiki.example.org', path),
      ]) {
        // Signed out: the bypass rule would answer 200.
        const anonymous = await ask();
        expect(anonymous.statusCode, path).not.toBe(200);
        expect([401, 403, 302], path).toContain(anonymous.statusCode);
      }
      const member = await nginx(t.app, `https://wiki.example.org${path}`, { cookie });
      if (path === '/Admin/x') continue; // case-sensitive by default: the catch-all rule
      expect(member.statusCode, path).toBe(403);
      expect(member.body).toContain('reads differently to different servers');
    }
    // With case_insensitive_paths, /Admin/x is the admin rule.
    t.gh.forwardAuth.reload({ ...forwardAuth, caseInsensitivePaths: true });
    try {
      const res = await nginx(t.app, 'https://wiki.example.org/Admin/x', { cookie });
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('does not allow this member');
      expect((await nginx(t.app, 'https://wiki.example.org/PUBLIC/x')).statusCode).toBe(200);
    } finally {
      t.gh.forwardAuth.reload(forwardAuth);
    }
    // Paths every server reads alike still pass.
    for (const path of ['/public/a;b', '/public/a%20b', '/public/group%2Fproject'])
      expect((await nginx(t.app, `https://wiki.example.org${path}`)).statusCode, path).toBe(200);
  });

  it('refuses malformed, oversized and odd URLs and hosts with a clear 400', async () => {
    const cases: Array<[Record<string, string | string[]>, string]> = [
      [{}, 'no original URL'],
      [{ 'x-original-url': 'not a url' }, 'not a valid absolute URL'],
      [{ 'x-original-url': 'ftp://wiki.example.org/' }, 'http or https'],
      [{ 'x-original-url': 'javascript:alert(1)' }, 'http or https'],
      [{ 'x-original-url': 'https://user:pw@wiki.example.org/' }, 'credentials'],
      [{ 'x-original-url': `https://wiki.example.org/${'a'.repeat(9000)}` }, 'too long'],
      [{ 'x-original-url': 'https://wiki.example.org/%e0%a4%a' }, 'percent-escape'],
      [{ 'x-forwarded-host': 'wiki.example.org', 'x-forwarded-uri': 'page' }, 'starting with /'],
      [
        { 'x-forwarded-host': 'wiki.example.org', 'x-forwarded-uri': '//evil/x' },
        'starting with /',
      ],
      [{ 'x-forwarded-host': 'a.example.org, b.example.org', 'x-forwarded-uri': '/' }, 'host name'],
      [{ 'x-forwarded-host': 'evil@wiki.example.org', 'x-forwarded-uri': '/' }, 'host name'],
      [{ 'x-forwarded-uri': '/' }, 'needs X-Forwarded-Host'],
      [
        {
          'x-forwarded-host': 'wiki.example.org',
          'x-forwarded-uri': '/',
          'x-forwarded-proto': 'gopher',
        },
        'http or https',
      ],
      [{ 'x-original-url': 'https://wiki.example.org/', 'x-original-method': 'G ET' }, 'method'],
    ];
    for (const [headers, message] of cases) {
      const res = await t.app.inject({ url: '/auth/verify', headers });
      expect(res.statusCode, JSON.stringify(headers).slice(0, 200)).toBe(400);
      expect(res.body).toContain(message);
      expect(res.body.length).toBeLessThan(300); // nothing echoed back
    }
  });

  it('matches unicode hosts by their punycode form, as browsers send them', async () => {
    const { cookie } = await signedIn('alice');
    const res = await forwarded('bücher.example.org', '/', { cookie });
    expect(res.statusCode).toBe(200);
    const idn = await nginx(t.app, 'https://xn--bcher-kva.example.org/', { cookie });
    expect(idn.statusCode).toBe(200);
  });

  it('encodes CRLF and other control characters instead of passing them on', async () => {
    const res = await nginx(t.app, 'https://wiki.example.org/a%0d%0aSet-Cookie:%20x=1', BROWSER);
    expect(res.statusCode).toBe(401);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(String(res.headers.location)).toContain('%250d%250a');
  });

  it('ignores any request body, in any method', async () => {
    const res = await t.app.inject({
      method: 'PROPFIND',
      url: '/auth/verify',
      headers: {
        'x-original-url': 'https://wiki.example.org/public/x',
        'content-type': 'application/json',
      },
      payload: '{not json',
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('rules reload', () => {
  it('keeps the old rules when the new ones do not compile', async () => {
    const bad = parseForwardAuth({ rules: [{ policy: 'signed_in', groups: 'Not Valid' }] }, 'x');
    expect(() => t.gh.forwardAuth.reload(bad, ' in x')).toThrow(
      'forward_auth.rules[0].groups in x: not a group path',
    );
    expect((await nginx(t.app, 'https://wiki.example.org/public/x')).statusCode).toBe(200);
    t.gh.forwardAuth.reload(parseForwardAuth({ rules: [] }, 'x'));
    expect((await nginx(t.app, 'https://wiki.example.org/public/x')).statusCode).toBe(403);
    t.gh.forwardAuth.reload(forwardAuth);
  });
});

describe('the login page and return URLs', () => {
  const domains = ['example.org'];

  it('returns to services inside the configured domains, and nowhere else', () => {
    expect(safeReturnTo('https://wiki.example.org/p?q=1', ISSUER, domains)).toBe(
      'https://wiki.example.org/p?q=1',
    );
    expect(safeReturnTo('https://example.org/', ISSUER, domains)).toBe('https://example.org/');
    expect(safeReturnTo('/account', ISSUER, domains)).toBe('/account');
    for (const foreign of [
      'https://evil.example.net/',
      'https://example.org.evil.net/',
      'https://evilexample.org/',
      'http://wiki.example.org/', // https issuer: no downgrade
      'https://wiki.example.org@evil.net/',
      'https://user:pw@wiki.example.org/',
      'javascript:alert(1)',
      '//evil.example.net/',
      '/\\evil.example.net/',
    ]) {
      expect(safeReturnTo(foreign, ISSUER, domains), foreign).toBe('/');
    }
    expect(safeReturnTo('https://wiki.example.org/', ISSUER, [])).toBe('/');
    expect(safeReturnTo('http://wiki.test:8080/x', 'http://auth.test:8000', ['wiki.test'])).toBe(
      'http://wiki.test:8080/x',
    );
  });

  it('signs in and sends the member back to the service URL they asked for', async () => {
    const client = createInjectClient(t.app);
    const target = 'https://wiki.example.org/page?x=1';
    const page = await client.get(`/login?return_to=${encodeURIComponent(target)}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('value="https://wiki.example.org/page?x=1"');
    // Browsers apply form-action to the redirect after the post: the services must be allowed.
    expect(page.headers['content-security-policy']).toContain("form-action 'self' https: http:");
    const res = await client.post('/login', {
      username: 'alice',
      password: PASSWORD,
      return_to: target,
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(target);
    // Already signed in: the login page forwards at once.
    const again = await client.get(`/login?rd=${encodeURIComponent(target)}`);
    expect(again.headers.location).toBe(target);
  });

  it('refuses to send the member to another domain after signing in', async () => {
    const client = createInjectClient(t.app);
    const res = await client.post('/login', {
      username: 'alice',
      password: PASSWORD,
      return_to: 'https://evil.example.net/phish',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
  });
});
