// The JSON API as a whole: table-driven over every registered route, so a route added to
// API_ROUTES is covered by the scope, credential, hostile-input and OpenAPI checks at once.

import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../accounts/accounts.ts';
import { createInjectClient } from '../../testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../testing/test-gatehouse.ts';
import { buildApp } from '../app.ts';
import { type AnyApiRoute, fastifyPath } from './define.ts';
import { describedRoutes, OPENAPI_PATH, openApiDocument } from './openapi.ts';
import { API_ROUTES } from './routes/index.ts';
import { ADMIN_SCOPE } from './scopes.ts';

let t: TestGatehouse;
let admin: User;
let member: User;
let n = 0;
const ALL_SCOPES = ['account:read', 'account:write', 'groups:read', 'groups:write', ADMIN_SCOPE];
const NIL = '00000000-0000-4000-8000-000000000000';

/** A valid body for every route that takes one; the hostile-input table starts from it. */
const SAMPLE_BODIES: Record<string, Record<string, unknown>> = {
  updateMe: { name: 'Sample Name' },
  createMyToken: { name: 'sample', scopes: ['account:read'], expires_in: '1d' },
  adminCreateUser: { username: 'sampleuser', email: 'sample@example.org' },
  adminUpdateUser: { name: 'Sample' },
  adminCreateClient: { name: 'Sample', redirect_uris: ['https://sample.example.org/cb'] },
  adminUpdateClient: { first_party: true },
  acceptInvitation: { token: 'gth_inv_sample' },
  createGroup: { path: 'nowhere/sample' },
  updateGroup: { description: 'Sample' },
  addGroupMember: { user_id: NIL },
  createGroupInvitation: { role: 'member', expires_in: '7d' },
  adminDefineRole: { name: 'sample', permissions: ['sample:read'] },
  adminGrantToUser: { permission: 'sample:read' },
  adminRevokeFromUser: { permission: 'sample:read' },
  adminGrantToGroup: { permission: 'sample:read' },
  adminRevokeFromGroup: { permission: 'sample:read' },
};

/** A wrong-typed value for a JSON Schema type. */
function wrongValue(schema: Record<string, unknown>): unknown {
  const type = [schema.type].flat()[0] ?? (schema.anyOf ? 'string' : 'string');
  switch (type) {
    case 'string':
      return 12345;
    case 'boolean':
      return 'yes';
    case 'array':
      return 'not a list';
    case 'integer':
    case 'number':
      return 'NaN';
    default:
      return 12345;
  }
}

const withParams = (route: AnyApiRoute, value = NIL) => route.path.replace(/\{[^}]+\}/g, value);

async function newUser(permissions: string[] = []) {
  const i = ++n;
  const user = await t.gh.accounts.create({
    username: `api${i}`,
    email: `api${i}@example.org`,
    password: 'api password 123',
  });
  for (const p of permissions) await t.gh.accounts.grantPermission(user.id, p);
  return (await t.gh.accounts.findById(user.id))!;
}

const tokens = new Map<string, Promise<string>>();

/** One token per member and set of scopes: a member may hold only MAX_TOKENS_PER_USER. */
function tokenFor(user: User, scopes: string[], expiresAt: number | null = null) {
  const key = `${user.id} ${[...scopes].sort().join(' ')} ${expiresAt}`;
  if (!tokens.has(key))
    tokens.set(
      key,
      t.gh.apiTokens.create(user.id, { name: 'test', scopes, expiresAt }).then((r) => r.token),
    );
  return tokens.get(key)!;
}

function call(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.raw !== undefined) headers['content-type'] ??= 'application/json';
  return t.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(options.raw !== undefined
      ? { payload: options.raw }
      : options.body !== undefined
        ? { payload: options.body as object }
        : {}),
  });
}

beforeAll(async () => {
  t = await createTestGatehouse({ apiLimits: { perAddress: 1_000_000, perToken: 1_000_000 } });
  admin = await newUser([ADMIN_SCOPE]);
  member = await newUser();
});
afterAll(() => t?.close());

describe(`JSON API, every route (${storageMode()})`, () => {
  it('has a sample body for every route that takes one, and unique operation ids', () => {
    for (const route of API_ROUTES)
      if (route.body) expect(SAMPLE_BODIES, route.id).toHaveProperty(route.id);
    expect(new Set(API_ROUTES.map((r) => r.id)).size).toBe(API_ROUTES.length);
  });

  it.each(API_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: 401 without credentials or with an invalid token',
    async (_name, route) => {
      const none = await call(route.method, withParams(route));
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('UNAUTHENTICATED');
      for (const bad of ['gth_api_nope', `${await tokenFor(member, ['account:read'])}x`]) {
        const res = await call(route.method, withParams(route), { token: bad });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toContain('invalid_token');
        expect(res.body).not.toContain(bad);
      }
      const notBearer = await call(route.method, withParams(route), {
        headers: { authorization: 'Basic Zm9vOmJhcg==' },
      });
      expect(notBearer.statusCode).toBe(401);
    },
  );

  it.each(
    API_ROUTES.filter((r) => r.scope).map(
      (r) => [`${r.method} ${r.path} (${r.scope})`, r] as const,
    ),
  )(
    '%s: 403 INSUFFICIENT_SCOPE for a token without the scope; let through with it',
    async (_name, route) => {
      const without = await tokenFor(
        admin,
        ALL_SCOPES.filter((s) => s !== route.scope),
      );
      const refused = await call(route.method, withParams(route), {
        token: without,
        body: SAMPLE_BODIES[route.id],
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('INSUFFICIENT_SCOPE');
      expect(refused.headers['www-authenticate']).toContain(`scope="${route.scope}"`);
      const withScope = await tokenFor(admin, [route.scope!]);
      const allowed = await call(route.method, withParams(route), {
        token: withScope,
        body: SAMPLE_BODIES[route.id]
          ? { ...SAMPLE_BODIES[route.id], username: `s${++n}`, email: `s${n}@example.org` }
          : undefined,
      });
      expect([401, 403]).not.toContain(allowed.statusCode);
    },
  );

  it.each(
    API_ROUTES.filter((r) => r.scope === ADMIN_SCOPE).map(
      (r) => [`${r.method} ${r.path}`, r] as const,
    ),
  )('%s: a member who is not an administrator is refused with a session', async (_name, route) => {
    const c = createInjectClient(t.app);
    await c.signIn(member.username, 'api password 123');
    const res = await t.app.inject({
      method: route.method as 'GET',
      url: withParams(route),
      headers: {
        cookie: [...c.jar].map(([k, v]) => `${k}=${v}`).join('; '),
        'x-csrf-token': c.csrf(),
      },
      ...(SAMPLE_BODIES[route.id] ? { payload: SAMPLE_BODIES[route.id] } : {}),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
  });

  it.each(API_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: hostile input is refused with 400/413/415 naming the problem',
    async (_name, route) => {
      const token = await tokenFor(admin, ALL_SCOPES);
      const url = withParams(route);
      const expectBad = async (
        res: Awaited<ReturnType<typeof call>>,
        status: number,
        text?: string,
      ) => {
        expect(res.statusCode, res.body).toBe(status);
        const body = res.json();
        expect(Object.keys(body)).toEqual(['error']);
        if (text) expect(body.error.message).toContain(text);
        expect(res.body).not.toMatch(/\n\s+at |node_modules/);
      };
      // Unknown query parameters.
      await expectBad(
        await call(route.method, `${url}?bogus=1`, { token, body: SAMPLE_BODIES[route.id] }),
        400,
        'bogus',
      );
      if (route.query && 'limit' in (route.query as { shape: object }).shape) {
        // A real id, so the cursor (decoded once the resource is found) is what fails.
        const url = withParams(route, admin.id);
        await expectBad(
          await call(route.method, `${url}?limit=abc`, { token }),
          400,
          'query.limit',
        );
        await expectBad(
          await call(route.method, `${url}?limit=100000`, { token }),
          400,
          'query.limit',
        );
        await expectBad(
          await call(route.method, `${url}?cursor=%00garbage`, { token }),
          400,
          'cursor',
        );
      }
      if (route.params) {
        const name = route.path.match(/\{([^}]+)\}/)![1]!;
        await expectBad(
          await call(route.method, withParams(route, 'not-a-uuid'), {
            token,
            body: SAMPLE_BODIES[route.id],
          }),
          400,
          `path.${name}`,
        );
        await expectBad(
          await call(route.method, withParams(route, "x'%20or%201=1--"), { token }),
          400,
        );
      }
      // Huge bodies, on every route: refused before parsing.
      const huge = JSON.stringify({ name: 'x'.repeat(100_000) });
      if (route.method !== 'GET')
        await expectBad(await call(route.method, url, { token, raw: huge }), 413);
      if (route.body) {
        const sample = SAMPLE_BODIES[route.id]!;
        await expectBad(
          await call(route.method, url, { token, body: { ...sample, bogus: 1 } }),
          400,
          'unknown field "bogus"',
        );
        await expectBad(
          await call(route.method, url, {
            token,
            body: { ...sample, __proto__: { admin: true } } as object,
            raw: `{"__proto__":{"admin":true}}`,
          }),
          400,
        );
        await expectBad(await call(route.method, url, { token, raw: '{"name":' }), 400);
        await expectBad(await call(route.method, url, { token, raw: '[1,2,3]' }), 400, 'body');
        await expectBad(await call(route.method, url, { token, raw: 'null' }), 400, 'body');
        await expectBad(
          await call(route.method, url, {
            token,
            raw: 'name=x',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
          415,
        );
        await expectBad(await call(route.method, url, { token }), 400, 'body');
        const schema = (await import('./openapi.ts')).jsonSchema(route.body, 'input') as {
          properties: Record<string, Record<string, unknown>>;
        };
        for (const [field, prop] of Object.entries(schema.properties)) {
          await expectBad(
            await call(route.method, url, {
              token,
              body: { ...sample, [field]: wrongValue(prop) },
            }),
            400,
            `body.${field}`,
          );
        }
      } else if (route.method !== 'GET') {
        await expectBad(
          await call(route.method, url, { token, body: { anything: 1 } }),
          400,
          'no request body',
        );
      }
    },
  );

  it('session writes need the CSRF token in X-CSRF-Token, which a read returns when asked', async () => {
    const c = createInjectClient(t.app);
    await c.signIn(member.username, 'api password 123');
    const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const plain = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
    expect(plain.headers['x-csrf-token']).toBeUndefined();
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { cookie, 'x-csrf-token': 'fetch' },
    });
    expect(me.statusCode).toBe(200);
    const csrf = me.headers['x-csrf-token'] as string;
    expect(csrf).toBe(c.csrf());
    const without = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: { cookie },
      payload: { name: 'X' },
    });
    expect(without.statusCode).toBe(403);
    expect(without.json().error.code).toBe('CSRF_FAILED');
    const crossSite = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: { cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
      payload: { name: 'X' },
    });
    expect(crossSite.statusCode).toBe(403);
    const ok = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: { cookie, 'x-csrf-token': csrf },
      payload: { name: 'Via Session' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().name).toBe('Via Session');
  });
});

describe(`OpenAPI document (${storageMode()})`, () => {
  it('validates against the OpenAPI 3.1 schema', async () => {
    const res = await t.app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(res.statusCode).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(res.json());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every registered /api/v1 route, and every described route is registered', async () => {
    const registered: string[] = [];
    const app = await buildApp(t.gh, {
      onRoute: (r) => {
        for (const m of [r.method].flat())
          if (m !== 'HEAD' && r.url.startsWith('/api/v1')) registered.push(`${m} ${r.url}`);
      },
    });
    await app.ready();
    await app.close();
    const described = describedRoutes(
      openApiDocument(API_ROUTES, { issuer: 'http://x', sessionCookie: 's' }),
    );
    expect([...registered].sort()).toEqual([...described].sort());
    expect(registered.length).toBeGreaterThan(15);
    for (const route of API_ROUTES)
      expect(registered).toContain(`${route.method} ${fastifyPath(route.path)}`);
  });
});
