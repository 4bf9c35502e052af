import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config/logger.ts';
import { createInjectClient } from '../testing/inject-client.ts';
import {
  createLogCapture,
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../testing/test-gatehouse.ts';
import { CONTENT_SECURITY_POLICY, cspWithFormAction } from './security.ts';

const logs = createLogCapture();
let t: TestGatehouse;
beforeAll(async () => {
  t = await createTestGatehouse({
    logger: createLogger({ level: 'debug', destination: logs.destination }),
  });
  await t.gh.accounts.create({
    username: 'alice',
    email: 'alice@example.org',
    password: 'correct horse battery',
  });
});
afterAll(() => t?.close());

describe(`http app (${storageMode()})`, () => {
  it('sends the security headers on every response', async () => {
    for (const url of ['/login', '/healthz', '/nowhere', '/static/gatehouse.css']) {
      const res = await t.app.inject({ url });
      // The sign-in form may lead (after redirects) to a service or an OIDC client.
      const csp =
        url === '/login' ? cspWithFormAction(['https:', 'http:']) : CONTENT_SECURITY_POLICY;
      expect(res.headers['content-security-policy']).toBe(csp);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('sends HSTS only when the issuer is https', async () => {
    expect(
      (await t.app.inject({ url: '/login' })).headers['strict-transport-security'],
    ).toBeUndefined();
    const https = await createTestGatehouse({
      stores: t.stores,
      overrides: { issuer: 'https://auth.example.org' },
    });
    try {
      expect(
        (await https.app.inject({ url: '/login' })).headers['strict-transport-security'],
      ).toContain('max-age=');
    } finally {
      await https.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('answers health and readiness, and not ready when the database is gone', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({
      status: 'ok',
      database: 'ok',
      store: 'ok',
    });
    const broken = await createTestGatehouse();
    await broken.stores.database.close();
    const res = await broken.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ database: 'unreachable' });
    await broken.close();
  });

  it('serves the stylesheet with an ETag and answers 304 to a revalidation', async () => {
    const first = await t.app.inject({ url: '/static/gatehouse.css' });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toContain('text/css');
    const again = await t.app.inject({
      url: '/static/gatehouse.css',
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('answers unknown pages with a page for browsers and JSON for the API, without internals', async () => {
    const page = await t.app.inject({ url: '/nowhere', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('Page not found');
    const api = await t.app.inject({ url: '/api/v1/nowhere' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });

  it('serves /api/v1/me to a signed-in member and 401 JSON otherwise', async () => {
    const anonymous = await t.app.inject({ url: '/api/v1/me' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('UNAUTHENTICATED');
    const c = createInjectClient(t.app);
    await c.signIn('alice', 'correct horse battery');
    const me = await c.get('/api/v1/me', { accept: 'application/json' });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      id: expect.any(String),
      username: 'alice',
      name: null,
      email: 'alice@example.org',
      email_verified: false,
      picture: null,
      is_admin: false,
    });
  });

  it('publishes an OpenAPI 3.1 document describing /api/v1/me', async () => {
    const doc = (await t.app.inject({ url: '/api/v1/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/v1/me');
  });

  it('never writes a password, secret token or cookie value to the logs', async () => {
    const c = createInjectClient(t.app);
    await c.signIn('alice', 'correct horse battery');
    await c.signIn('alice', 'a wrong password guess');
    const session = [...c.jar].find(([k]) => k.endsWith('gatehouse_session'))![1];
    const setup = await t.gh.oneTimeTokens.issue('setup', { ttlMs: 60_000 });
    await c.get(`/setup/${setup}`);
    await c.get(`/nowhere?token=${session}`);
    t.gh.logger.info(`a message that mentions ${session}`);
    t.gh.logger.info(
      { password: 'correct horse battery', headers: { cookie: `x=${session}` } },
      'structured',
    );
    const text = logs.text();
    expect(text).toContain('"url"'); // requests were logged
    for (const secret of [
      'correct horse battery',
      'a wrong password guess',
      session,
      setup,
      c.csrf(),
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('gth_sess_[redacted]');
  });

  it('masks ID token hints, codes, refresh tokens, secrets and assertions in the request log', async () => {
    const claims = Buffer.from(
      JSON.stringify({ sub: 'x', email: 'alice@example.org', name: 'Alice Liddell' }),
    ).toString('base64url');
    const hint = `eyJhbGciOiJSUzI1NiJ9.${claims}.c2lnbmF0dXJlc2lnbmF0dXJl`;
    const values = {
      id_token_hint: hint,
      logout_hint: 'alice-logout-hint-value',
      login_hint: 'alice@example.org',
      login_hint_token: 'login-hint-token-value',
      code: 'authorization-code-value',
      refresh_token: 'refresh-token-value',
      client_secret: 'client-secret-value',
      assertion: 'assertion-value',
    };
    await t.app.inject({
      url: `/oidc/session/end?${new URLSearchParams({ ...values, state: 'kept-state' })}`,
    });
    // A percent-encoded name is the same parameter to the provider, and masked alike.
    await t.app.inject({ url: `/oidc/session/end?id%5Ftoken%5Fhint=${hint}` });
    await t.app.inject({ url: `/nowhere;code=${values.code}` });
    const text = logs.text();
    for (const value of [...Object.values(values), claims]) expect(text).not.toContain(value);
    expect(text).toContain('id_token_hint=[redacted]');
    expect(text).toContain('id%5Ftoken%5Fhint=[redacted]');
    expect(text).toContain('state=kept-state');
  });
});
