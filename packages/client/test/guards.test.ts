import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeGatehouse } from '../src/adapters/node.ts';
import {
  createGatehouseClient,
  type GatehouseClientOptions,
  GatehouseError,
  type GuardRule,
  type HttpExchange,
  optionalLogin,
  parseCookie,
  requireAccess,
  requireLogin,
  requirePermission,
  respondWithError,
  serializeCookie,
} from '../src/index.ts';
import { createMiniIssuer, type MiniIssuer } from './helpers/mini-issuer.ts';
import { rawRequest } from './helpers/user-agent.ts';

let mini: MiniIssuer;
let server: Server | null = null;
beforeAll(async () => {
  mini = await createMiniIssuer();
});
afterAll(() => mini.close());
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(null));
  server = null;
});

/** One guarded route at / on a node:http server; answers the member as JSON. */
async function serve(
  rule: GuardRule<IncomingMessage>,
  extra: Partial<GatehouseClientOptions> = {},
) {
  const gate = nodeGatehouse(
    createGatehouseClient({
      issuer: mini.issuer,
      clientId: mini.clientId,
      events: false,
      ...extra,
    }),
  );
  server = createServer(async (req, res) => {
    const result = await gate.check(req, res, rule);
    if (result.ok)
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ user: result.user }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`;
  return async (headers: Record<string, string> = {}) => {
    const res = await rawRequest(url, { headers });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json');
    return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text };
  };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('guards', () => {
  it('requireLogin: 401 token_missing without credentials, 200 with a good token', async () => {
    const get = await serve(requireLogin());
    const none = await get();
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'token_missing', message: expect.any(String) } });
    const ok = await get(bearer(await mini.sign()));
    expect(ok.status).toBe(200);
    expect(ok.body.user.username).toBe('ada');
  });

  it('treats a non-Bearer Authorization as no token, and a malformed Bearer as invalid', async () => {
    const get = await serve(requireLogin());
    expect((await get({ authorization: 'Basic YTpi' })).body.error.code).toBe('token_missing');
    expect((await get({ authorization: 'Bearer' })).body.error.code).toBe('token_invalid');
    expect((await get({ authorization: 'Bearer a b' })).body.error.code).toBe('token_invalid');
  });

  it('answers a browser with a page (no redirect) when the service has no sign-in', async () => {
    const get = await serve(requireLogin());
    const res = await get({ accept: 'text/html', 'sec-fetch-mode': 'navigate' });
    expect(res.status).toBe(401);
    expect(res.headers.get('location')).toBeNull();
    expect(res.body).toContain('<h1>Something went wrong</h1>');
    // A script asking the same gets JSON.
    const api = await get({ accept: 'text/html', 'sec-fetch-mode': 'cors' });
    expect(api.body.error.code).toBe('token_missing');
  });

  it('escapes what it shows in a page', async () => {
    const client = createGatehouseClient({ issuer: mini.issuer, clientId: 'svc', events: false });
    let html = '';
    const exchange: HttpExchange = {
      method: 'GET',
      url: '/',
      header: (name) => ({ 'sec-fetch-mode': 'navigate' })[name],
      setCookie: () => {},
      redirect: () => {},
      sendJson: () => {},
      sendHtml: (_status, page) => {
        html = page;
      },
    };
    await respondWithError(
      client,
      exchange,
      new GatehouseError('forbidden', 'This needs the permission <script>alert(1)</script>.'),
    );
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toContain('<script>');
  });

  it('optionalLogin: anonymous passes with no member; a bad token is still refused', async () => {
    const get = await serve(optionalLogin());
    expect((await get()).body).toEqual({ user: null });
    expect((await get(bearer('junk.junk.junk'))).status).toBe(401);
    expect((await get(bearer(await mini.sign()))).body.user.id).toBeTruthy();
  });

  it('requirePermission: every permission is needed', async () => {
    const one = await serve(requirePermission('upload:write'));
    expect((await one(bearer(await mini.sign()))).status).toBe(200);
    const get = await serve(requirePermission('upload:write', 'admin:all'));
    const res = await get(bearer(await mini.sign()));
    expect(res.status).toBe(403);
    expect(res.body.error).toEqual({
      code: 'forbidden',
      message: 'This needs the permission admin:all.',
    });
  });

  it('unknown members: 403 unknown_user, except where allowed; browsers go to the redirect', async () => {
    const known = new Set<string>();
    const opts = {
      isKnownUser: (u: { id: string }) => known.has(u.id),
      unknownUserRedirect: '/register',
    };
    const token = await mini.sign();
    const guarded = await serve(requireLogin(), opts);
    const res = await guarded(bearer(token));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('unknown_user');
    const registration = await serve(requireLogin({ allowUnknown: true }), opts);
    expect((await registration(bearer(token))).status).toBe(200);
    known.add('6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11');
    const again = await serve(requireLogin(), opts);
    expect((await again(bearer(token))).status).toBe(200);
  });

  it('hides the detail of an issuer failure behind a plain 503', async () => {
    const errors: unknown[] = [];
    const get = await serve(requireLogin(), {
      issuer: 'http://127.0.0.1:1',
      clientSecret: 'x'.repeat(20),
      onError: (e) => errors.push(e),
    });
    const res = await get(bearer('gth_api_opaque'));
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('issuer_unavailable');
    expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
    expect(errors.length).toBe(1);
  });

  it('refuses requireAccess without an expression', () => {
    expect(() => requireAccess(42 as never)).toThrow(TypeError);
  });

  it('requireAccess: evaluates the expression, or the function of request and member', async () => {
    const token = await mini.sign();
    // The token's member is in members/workshop: that grants everything below it, not above.
    expect(
      (await (await serve(requireAccess('members/workshop/laser')))(bearer(token))).status,
    ).toBe(200);
    expect((await (await serve(requireAccess('members')))(bearer(token))).status).toBe(403);
    expect((await (await serve(requireAccess('staff')))(bearer(token))).status).toBe(403);
    const seen: string[] = [];
    const dynamic = await serve(
      requireAccess<IncomingMessage>((req, user) => {
        seen.push(`${req.url} ${user.username}`);
        return 'members/workshop';
      }),
    );
    expect((await dynamic(bearer(token))).status).toBe(200);
    expect(seen).toEqual(['/ ada']);
  });
});

describe('cookies', () => {
  it('parses and serialises', () => {
    expect(parseCookie('a=1; b = two%20words ; c="q"', 'b')).toBe('two words');
    expect(parseCookie('a=1; c="q"', 'c')).toBe('q');
    expect(parseCookie('a=%E0%A4%A', 'a')).toBeUndefined();
    expect(parseCookie(undefined, 'a')).toBeUndefined();
    expect(
      serializeCookie('s', 'v;x', {
        path: '/',
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
        maxAge: 0,
      }),
    ).toBe(
      's=v%3Bx; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
  });
});
