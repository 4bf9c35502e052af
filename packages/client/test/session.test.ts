// Browser sign-in for a service, without the revocation stream: the lease alone bounds how
// long a revoked session keeps working, and re-checks go to introspection, then refresh.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeGatehouse } from '../src/adapters/node.ts';
import { createGatehouseClient, GatehouseError, requireLogin } from '../src/index.ts';
import { safeReturnTo } from '../src/session.ts';
import { createOidcStandIn, type OidcStandIn } from './helpers/oidc-stand-in.ts';
import { UserAgent } from './helpers/user-agent.ts';

const SUB = '2f7b8e3a-8c77-4f7e-9f83-9d2a3e4c5d03';
let issuer: OidcStandIn;
let server: Server;
let base: string;
let clock = Date.now();

beforeAll(async () => {
  issuer = await createOidcStandIn();
  issuer.accounts.set(SUB, { preferred_username: 'cy', name: 'Cy', groups: ['members'] });
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer.addClient({
    clientId: 'svc',
    clientSecret: 'svc-secret-0123456789abcdef',
    redirectUris: [`${base}/auth/callback`],
  });
  const gate = nodeGatehouse(
    createGatehouseClient({
      issuer: issuer.issuer,
      clientId: 'svc',
      clientSecret: 'svc-secret-0123456789abcdef',
      events: false,
      leaseSeconds: 60,
      now: () => clock,
      session: { secret: 's'.repeat(40), redirectUri: `${base}/auth/callback` },
    }),
  );
  server.on('request', async (req, res) => {
    if (await gate.handleAuthRoute(req, res)) return;
    const result = await gate.check(req, res, requireLogin());
    if (result.ok) res.end(JSON.stringify(result.user));
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await issuer.close();
});

describe('service session', () => {
  it('holds the member for the lease, re-checks after it, and ends once Gatehouse says so', async () => {
    const ua = new UserAgent();
    const home = await ua.signInAtStandIn(`${base}/auth/login?returnTo=%2Fme`, SUB);
    expect(home.url).toBe(`${base}/me`);
    expect(JSON.parse(home.body).username).toBe('cy');
    expect(ua.cookie(base, 'gatehouse_service_session')).toBeTruthy();

    // Lease over: re-checked with Gatehouse (still valid), and the cookie renewed.
    const before = ua.cookie(base, 'gatehouse_service_session');
    clock += 61_000;
    const renewed = await ua.navigate(`${base}/me`);
    expect(renewed.status).toBe(200);
    expect(ua.cookie(base, 'gatehouse_service_session')).not.toBe(before);

    // Signed out at Gatehouse, no event stream: the session lives to the end of its lease only.
    await issuer.signOut(SUB);
    expect((await ua.navigate(`${base}/me`)).status).toBe(200);
    clock += 61_000;
    const after = await ua.navigate(`${base}/me`);
    // A browser is sent to sign in again.
    expect(after.url).toContain(`${issuer.issuer}/interaction/`);
    expect(ua.cookie(base, 'gatehouse_service_session')).toBeUndefined();
  });

  it('accepts only same-site return paths', () => {
    expect(safeReturnTo('/a?b=c', '/')).toBe('/a?b=c');
    for (const bad of [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      'a',
      '/a\nb',
      '',
    ]) {
      expect(safeReturnTo(bad, '/')).toBe('/');
    }
  });

  it('refuses a weak session secret and a relative redirect URI', () => {
    const base = { issuer: issuer.issuer, clientId: 'svc', events: false };
    expect(() =>
      createGatehouseClient({ ...base, session: { secret: 'short', redirectUri: 'http://x/cb' } }),
    ).toThrow(GatehouseError);
    expect(() =>
      createGatehouseClient({ ...base, session: { secret: 's'.repeat(40), redirectUri: '/cb' } }),
    ).toThrow(GatehouseError);
  });
});

describe('session cookie name', () => {
  it('keeps the __Host- prefix for a custom name when cookies are secure', async () => {
    async function cookieNames(redirectUri: string, cookieName?: string) {
      const gh = createGatehouseClient({
        issuer: issuer.issuer,
        clientId: 'svc',
        events: false,
        session: { secret: 's'.repeat(40), redirectUri, ...(cookieName ? { cookieName } : {}) },
      });
      const names: string[] = [];
      await gh.handleAuthRoute({
        method: 'GET',
        url: '/auth/login',
        header: () => undefined,
        setCookie: (name) => names.push(name),
        redirect: () => {},
        sendJson: () => {},
      });
      return names;
    }
    expect(await cookieNames('https://svc.example/cb', 'uploads')).toEqual(['__Host-uploads_tx']);
    expect(await cookieNames('https://svc.example/cb', '__Host-uploads')).toEqual([
      '__Host-uploads_tx',
    ]);
    expect(await cookieNames('https://svc.example/cb')).toEqual([
      '__Host-gatehouse_service_session_tx',
    ]);
    expect(await cookieNames('http://127.0.0.1/cb', 'uploads')).toEqual(['uploads_tx']);
  });
});

describe('service session after an event-stream gap', () => {
  it('re-checks every session once the stream reconnects, catching a missed revocation', async () => {
    const sub = '3a8c9f4b-9d88-4a8f-8a94-ae3b4f5d6e04';
    issuer.accounts.set(sub, { preferred_username: 'dee', groups: ['members'] });
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    issuer.addClient({
      clientId: 'svc2',
      clientSecret: 'svc2-secret-0123456789abcdef',
      redirectUris: [`${url}/auth/callback`],
    });
    const client = createGatehouseClient({
      issuer: issuer.issuer,
      clientId: 'svc2',
      clientSecret: 'svc2-secret-0123456789abcdef',
      session: { secret: 't'.repeat(40), redirectUri: `${url}/auth/callback` },
    });
    const gate = nodeGatehouse(client);
    srv.on('request', async (req, res) => {
      if (await gate.handleAuthRoute(req, res)) return;
      const result = await gate.check(req, res, requireLogin());
      if (result.ok) res.end(JSON.stringify(result.user));
    });
    try {
      await client.connect();
      const ua = new UserAgent();
      const page = await ua.signInAtStandIn(`${url}/auth/login?returnTo=%2Fme`, sub);
      expect(JSON.parse(page.body).username).toBe('dee');
      // The stream breaks, and the sign-out happens while it is down: no event arrives.
      issuer.dropEventConnections();
      await issuer.signOut(sub, { silent: true });
      // Once reconnected, the gap makes every session ask Gatehouse again.
      while (issuer.openEventConnections() === 0 || !client.eventsConnected) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const res = await fetch(`${url}/me`, { headers: { cookie: ua.cookieHeader(url) } });
      expect(res.status).toBe(401);
    } finally {
      client.close();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });
});
