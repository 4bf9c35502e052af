import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config/logger.ts';
import {
  createLogCapture,
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../testing/test-gatehouse.ts';
import { createFastPath } from './fast-path.ts';
import { CONTENT_SECURITY_POLICY } from './security.ts';

/** A server from the fast path's factory, with a stand-in for Fastify that says who answered. */
async function standIn(setup: (fast: ReturnType<typeof createFastPath>) => void) {
  const logs = createLogCapture();
  const logger = createLogger({ level: 'info', destination: logs.destination });
  const fast = createFastPath({ logger, errorLogger: logger, trust: () => false });
  setup(fast);
  const server = fast.serverFactory(
    (_req, res) => {
      res.end('fastify');
    },
    { keepAliveTimeout: 5000, requestTimeout: 10_000, connectionTimeout: 0 },
  ) as Server;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { fast, logs, base, close: () => new Promise((r) => server.close(r)) };
}

describe('the fast path', () => {
  it('answers its own paths and methods, and hands everything else to Fastify', async () => {
    const s = await standIn((fast) => {
      fast.add('/any', (_req, res) => void res.end('fast'));
      fast.add('/get-only', (_req, res) => void res.end('fast'), ['GET']);
    });
    try {
      const text = async (path: string, method = 'GET') =>
        (await fetch(`${s.base}${path}`, { method })).text();
      expect(await text('/any')).toBe('fast');
      expect(await text('/any?x=1')).toBe('fast');
      expect(await text('/any', 'POST')).toBe('fast');
      expect(await text('/get-only')).toBe('fast');
      expect(await text('/get-only', 'POST')).toBe('fastify');
      // Anything not exactly the path is Fastify's to route (trailing slash, escapes, case).
      for (const path of ['/any/', '/%61ny', '/ANY', '/anything', '/']) {
        expect(await text(path)).toBe('fastify');
      }
      expect(s.fast.answered).toBe(4);
      s.fast.close();
      expect(await text('/any')).toBe('fastify');
    } finally {
      await s.close();
    }
  });

  it('turns a failing handler into a 500 without a stack, and logs it', async () => {
    const s = await standIn((fast) => {
      fast.add('/throws', () => {
        throw new Error('boom at /secret/place');
      });
      fast.add('/rejects', async () => {
        throw new Error('async boom');
      });
    });
    try {
      for (const path of ['/throws', '/rejects']) {
        const res = await fetch(`${s.base}${path}`);
        expect(res.status).toBe(500);
        const body = await res.text();
        expect(JSON.parse(body)).toMatchObject({ error: { code: 'INTERNAL' } });
        expect(body).not.toContain('boom');
      }
      expect(s.logs.text()).toContain('async boom');
    } finally {
      await s.close();
    }
  });

  it('writes the same request line as the Fastify side, with tokens masked', async () => {
    const s = await standIn((fast) => fast.add('/x', (_req, res) => void res.end('ok')));
    try {
      await fetch(`${s.base}/x?token=gth_api_abcdefghijklmnopqrstuvwxyz0123456789`);
      const line = s.logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request');
      expect(line).toMatchObject({ method: 'GET', status: 200, ip: '127.0.0.1' });
      expect(line.url).toContain('gth_api_[redacted]');
      expect(line.url).not.toContain('abcdefghij');
    } finally {
      await s.close();
    }
  });
});

describe(`the fast path in the app (${storageMode()})`, () => {
  let t: TestGatehouse;
  let base: string;
  beforeAll(async () => {
    t = await createTestGatehouse();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => t?.close());

  it('takes forward auth, discovery, the JWKS and the token endpoint before Fastify', async () => {
    const taken = async (path: string, init?: RequestInit) => {
      const before = t.app.fastPath.answered;
      const res = await fetch(`${base}${path}`, init);
      await res.arrayBuffer();
      return t.app.fastPath.answered - before;
    };
    expect(await taken('/auth/verify')).toBe(1);
    expect(await taken('/.well-known/openid-configuration')).toBe(1);
    expect(await taken('/oidc/jwks')).toBe(1);
    expect(
      await taken('/oidc/token', { method: 'POST', body: 'grant_type=client_credentials' }),
    ).toBe(1);
    expect(await taken('/oidc/me')).toBe(1);
    // Pages and the interactions stay with Fastify (sessions, CSRF, the error pages).
    expect(await taken('/login')).toBe(0);
    expect(await taken('/oidc/session/end')).toBe(0);
    expect(await taken('/healthz')).toBe(0);
  });

  it('answers the same over the socket as through Fastify', async () => {
    const cases: { url: string; method?: 'GET' | 'POST'; body?: string }[] = [
      { url: '/auth/verify' },
      { url: '/auth/verify?rule=a&rule=b' },
      { url: '/oidc/jwks' },
      { url: '/.well-known/openid-configuration' },
      { url: '/oidc/token', method: 'POST', body: 'grant_type=client_credentials' },
    ];
    for (const c of cases) {
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        'x-original-url': 'https://wiki.example.org/',
      };
      const viaSocket = await fetch(`${base}${c.url}`, { method: c.method, headers, body: c.body });
      const viaFastify = await t.app.inject({
        url: c.url,
        method: c.method ?? 'GET',
        headers,
        payload: c.body,
      });
      expect(viaSocket.status, c.url).toBe(viaFastify.statusCode);
      expect(await viaSocket.text(), c.url).toBe(viaFastify.body);
      for (const name of [
        'content-type',
        'cache-control',
        'content-security-policy',
        'x-frame-options',
        'x-content-type-options',
        'etag',
        'www-authenticate',
      ]) {
        expect(viaSocket.headers.get(name) ?? undefined, `${c.url} ${name}`).toEqual(
          viaFastify.headers[name],
        );
      }
    }
  });

  it("sends the security headers on the provider's own pages", async () => {
    for (const res of [
      await t.app.inject({ url: '/oidc/session/end' }),
      await t.app.inject({ url: '/oidc/device' }),
      await t.app.inject({ url: '/oidc/auth?client_id=nobody' }),
    ]) {
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      // Under that policy an inline event handler would not run, only log a violation.
      expect(res.body).not.toMatch(/ on[a-z]+="/);
    }
    expect((await t.app.inject({ url: '/oidc/jwks' })).headers['content-security-policy']).toBe(
      CONTENT_SECURITY_POLICY,
    );
  });
});
