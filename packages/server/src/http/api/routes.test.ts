// What each route does: the member's profile, sessions and tokens; administration of users;
// pagination, idempotency and rate limits.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../accounts/accounts.ts';
import { createInjectClient } from '../../testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../testing/test-gatehouse.ts';

let t: TestGatehouse;
let admin: User;
let adminToken: string;
let n = 0;
const PASSWORD = 'route password 123';

async function newUser(permissions: string[] = []) {
  const i = ++n;
  const user = await t.gh.accounts.create({
    username: `r${i}`,
    email: `r${i}@example.org`,
    password: PASSWORD,
  });
  for (const p of permissions) await t.gh.accounts.grantPermission(user.id, p);
  return (await t.gh.accounts.findById(user.id))!;
}

async function tokenFor(user: User, scopes: string[], expiresAt: number | null = null) {
  return (await t.gh.apiTokens.create(user.id, { name: 'test', scopes, expiresAt })).token;
}

function call(
  method: string,
  url: string,
  token: string | null,
  body?: object,
  headers: Record<string, string> = {},
) {
  return t.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body ? { payload: body } : {}),
  });
}

beforeAll(async () => {
  t = await createTestGatehouse({ apiLimits: { perAddress: 1_000_000, perToken: 1_000_000 } });
  admin = await newUser(['gatehouse:admin']);
  adminToken = await tokenFor(admin, ['account:read', 'account:write', 'gatehouse:admin']);
});
afterAll(() => t?.close());

describe(`member routes (${storageMode()})`, () => {
  it('reads and changes the profile with a token', async () => {
    const user = await newUser();
    const token = await tokenFor(user, ['account:write']);
    const me = await call('GET', '/api/v1/me', token);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, username: user.username, is_admin: false });
    const changed = await call('PATCH', '/api/v1/me', token, { name: 'New Name', picture: null });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().name).toBe('New Name');
    const bad = await call('PATCH', '/api/v1/me', token, { email: 'not an email' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('EMAIL_INVALID');
    const taken = await call('PATCH', '/api/v1/me', token, { email: admin.email });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('EMAIL_TAKEN');
  });

  it('creates tokens only with held scopes, shows them once, lists and revokes them', async () => {
    const user = await newUser(['upload:read']);
    const token = await tokenFor(user, ['account:read', 'account:write', 'upload:read']);
    // Signed in, so only the member's own permissions limit the scopes.
    const c = createInjectClient(t.app);
    await c.signIn(user.username, PASSWORD);
    const wider = await call(
      'POST',
      '/api/v1/me/tokens',
      null,
      { name: 'too wide', scopes: ['upload:write'] },
      { cookie: [...c.jar].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': c.csrf() },
    );
    expect(wider.statusCode).toBe(403);
    expect(wider.json().error.code).toBe('TOKEN_SCOPE_NOT_HELD');
    const admin = await call('POST', '/api/v1/me/tokens', token, {
      name: 'admin',
      scopes: ['gatehouse:admin'],
    });
    expect(admin.statusCode).toBe(403);

    const created = await call('POST', '/api/v1/me/tokens', token, {
      name: 'uploader',
      scopes: ['upload:read'],
      expires_in: '30d',
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.token).toMatch(/^gth_api_/);
    expect(body).toMatchObject({ name: 'uploader', scopes: ['upload:read'], warnings: [] });
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const forever = await call('POST', '/api/v1/me/tokens', token, {
      name: 'forever',
      scopes: ['account:read'],
    });
    expect(forever.json().expires_at).toBeNull();
    expect(forever.json().warnings[0]).toContain('never expires');
    const badExpiry = await call('POST', '/api/v1/me/tokens', token, {
      name: 'x',
      scopes: ['account:read'],
      expires_in: 'tomorrow',
    });
    expect(badExpiry.statusCode).toBe(400);
    expect(badExpiry.json().error.code).toBe('TOKEN_EXPIRY_INVALID');

    const listed = await call('GET', '/api/v1/me/tokens', token);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items.map((i: { name: string }) => i.name)).toContain('uploader');
    expect(listed.body).not.toContain(body.token);

    // The new token works, then stops at once when revoked.
    expect((await call('GET', '/api/v1/me', body.token)).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/me/tokens', body.token)).statusCode).toBe(403);
    const revoked = await call('DELETE', `/api/v1/me/tokens/${body.id}`, token);
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');
    expect((await call('GET', '/api/v1/me', body.token)).statusCode).toBe(401);
    expect((await call('DELETE', `/api/v1/me/tokens/${body.id}`, token)).statusCode).toBe(404);
  });

  it("cannot touch another member's tokens or sessions", async () => {
    const a = await newUser();
    const b = await newUser();
    const aToken = await tokenFor(a, ['account:read', 'account:write']);
    const bInfo = await t.gh.apiTokens.create(b.id, {
      name: 'b',
      scopes: ['account:read'],
      expiresAt: null,
    });
    const res = await call('DELETE', `/api/v1/me/tokens/${bInfo.info.id}`, aToken);
    expect(res.statusCode).toBe(404);
    expect((await call('GET', '/api/v1/me', bInfo.token)).statusCode).toBe(200);
    const { session } = await t.gh.sessions.create(b.id);
    expect((await call('DELETE', `/api/v1/me/sessions/${session.id}`, aToken)).statusCode).toBe(
      404,
    );
  });

  it('a token can only create tokens within its own scopes', async () => {
    const user = await newUser(['upload:read']);
    const token = await tokenFor(user, ['account:write']);
    const res = await call('POST', '/api/v1/me/tokens', token, {
      name: 'escalate',
      scopes: ['upload:read'],
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('INSUFFICIENT_SCOPE');
  });

  it('an expired token is refused with 401', async () => {
    const user = await newUser();
    const token = await tokenFor(user, ['account:read'], Date.now() + 30);
    await new Promise((r) => setTimeout(r, 40));
    const res = await call('GET', '/api/v1/me', token);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toContain('expired');
  });

  it('lists and signs out sessions, marking the current one', async () => {
    const user = await newUser();
    const c = createInjectClient(t.app, { headers: { 'user-agent': 'curl/8.0' } });
    await c.signIn(user.username, PASSWORD);
    await t.gh.sessions.create(user.id, { ip: '192.0.2.9' });
    const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const listed = await call('GET', '/api/v1/me/sessions', null, undefined, {
      cookie,
      'x-csrf-token': 'fetch',
    });
    expect(listed.statusCode).toBe(200);
    const items = listed.json().items as Array<{ id: string; current: boolean; ip: string }>;
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    const other = items.find((s) => !s.current)!;
    const csrf = listed.headers['x-csrf-token'] as string;
    const gone = await call('DELETE', `/api/v1/me/sessions/${other.id}`, null, undefined, {
      cookie,
      'x-csrf-token': csrf,
    });
    expect(gone.statusCode).toBe(204);
    const after = await call('GET', '/api/v1/me/sessions', null, undefined, { cookie });
    expect(after.json().items).toHaveLength(1);
  });

  it('paginates with opaque cursors', async () => {
    const user = await newUser();
    const token = await tokenFor(user, ['account:read']);
    for (let i = 0; i < 4; i++) await tokenFor(user, ['account:read']);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/me/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call('GET', url, token);
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: Array<{ id: string }>; next_cursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
  });
});

describe(`idempotency (${storageMode()})`, () => {
  it('replays the first response for the same key and body; refuses another body', async () => {
    const user = await newUser();
    const token = await tokenFor(user, ['account:read', 'account:write']);
    const body = { name: 'once', scopes: ['account:read'], expires_in: '1d' };
    const key = { 'idempotency-key': crypto.randomUUID() };
    const first = await call('POST', '/api/v1/me/tokens', token, body, key);
    expect(first.statusCode).toBe(201);
    const again = await call('POST', '/api/v1/me/tokens', token, body, key);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(
      (await t.gh.apiTokens.listForUser(user.id)).filter((x) => x.name === 'once'),
    ).toHaveLength(1);
    const other = await call('POST', '/api/v1/me/tokens', token, { ...body, name: 'twice' }, key);
    expect(other.statusCode).toBe(422);
    expect(other.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Another member's identical key is theirs alone.
    const user2 = await newUser();
    const token2 = await tokenFor(user2, ['account:read', 'account:write']);
    const theirs = await call('POST', '/api/v1/me/tokens', token2, body, key);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.json().id).not.toBe(first.json().id);
    const badKey = await call('POST', '/api/v1/me/tokens', token, body, {
      'idempotency-key': 'x'.repeat(300),
    });
    expect(badKey.statusCode).toBe(400);
  });

  it('keeps no secret readable in the store', async () => {
    const user = await newUser();
    const token = await tokenFor(user, ['account:read', 'account:write']);
    const key = crypto.randomUUID();
    const res = await call(
      'POST',
      '/api/v1/me/tokens',
      token,
      { name: 'secret', scopes: ['account:read'] },
      { 'idempotency-key': key },
    );
    const secret = res.json().token as string;
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    for (const p of ['idem', user.id, 'POST', '/api/v1/me/tokens', key]) h.update(p).update('\0');
    const stored = await t.stores.kv.get(`idem:${h.digest('base64url')}`);
    expect(stored).toBeTruthy();
    expect(stored).not.toContain(secret.slice(8, 40));
    expect(stored).not.toContain(key);
  });
});

describe(`administration (${storageMode()})`, () => {
  it('creates, reads, lists, disables, enables, resets and deletes users', async () => {
    const created = await call('POST', '/api/v1/admin/users', adminToken, {
      username: 'newbie',
      email: 'newbie@example.org',
      name: 'New Bie',
    });
    expect(created.statusCode).toBe(201);
    const user = created.json();
    expect(user.set_password_url).toMatch(/^http:\/\/localhost:8000\/reset\/gth_rst_/);
    const dup = await call('POST', '/api/v1/admin/users', adminToken, {
      username: 'NEWBIE',
      email: 'other@example.org',
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('USERNAME_TAKEN');

    expect((await call('GET', `/api/v1/admin/users/${user.id}`, adminToken)).json().username).toBe(
      'newbie',
    );
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        'GET',
        `/api/v1/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        adminToken,
      );
      expect(res.statusCode).toBe(200);
      names.push(...res.json().items.map((u: { username: string }) => u.username));
      cursor = res.json().next_cursor;
    } while (cursor);
    expect(names).toContain('newbie');
    expect(names).toEqual([...names].sort());

    // Disabling stops the user's tokens at once; enabling brings them back.
    const theirToken = await tokenFor((await t.gh.accounts.findById(user.id))!, ['account:read']);
    expect((await call('GET', '/api/v1/me', theirToken)).statusCode).toBe(200);
    const disabled = await call('PATCH', `/api/v1/admin/users/${user.id}`, adminToken, {
      disabled: true,
    });
    expect(disabled.json().disabled).toBe(true);
    expect((await call('GET', '/api/v1/me', theirToken)).statusCode).toBe(401);
    await call('PATCH', `/api/v1/admin/users/${user.id}`, adminToken, { disabled: false });
    expect((await call('GET', '/api/v1/me', theirToken)).statusCode).toBe(200);

    // An administrator marks the address verified, or takes that back.
    const verified = await call('PATCH', `/api/v1/admin/users/${user.id}`, adminToken, {
      email_verified: true,
    });
    expect(verified.json().email_verified).toBe(true);
    expect((await t.gh.accounts.findById(user.id))!.emailVerified).toBe(true);
    const unverified = await call('PATCH', `/api/v1/admin/users/${user.id}`, adminToken, {
      email_verified: false,
    });
    expect(unverified.json().email_verified).toBe(false);

    const reset = await call('POST', `/api/v1/admin/users/${user.id}/password-reset`, adminToken);
    expect(reset.statusCode).toBe(201);
    expect(reset.json().reset_url).toMatch(/\/reset\/gth_rst_/);

    const tokens = await call('GET', `/api/v1/admin/users/${user.id}/tokens`, adminToken);
    const tokenId = tokens.json().items[0].id;
    expect(
      (await call('DELETE', `/api/v1/admin/users/${user.id}/tokens/${tokenId}`, adminToken))
        .statusCode,
    ).toBe(204);
    expect((await call('GET', '/api/v1/me', theirToken)).statusCode).toBe(401);

    const { session } = await t.gh.sessions.create(user.id);
    const sessions = await call('GET', `/api/v1/admin/users/${user.id}/sessions`, adminToken);
    expect(sessions.json().items.map((s: { id: string }) => s.id)).toEqual([session.id]);
    expect(
      (await call('DELETE', `/api/v1/admin/users/${user.id}/sessions/${session.id}`, adminToken))
        .statusCode,
    ).toBe(204);
    expect(await t.gh.sessions.listForUser(user.id)).toEqual([]);

    expect((await call('DELETE', `/api/v1/admin/users/${user.id}`, adminToken)).statusCode).toBe(
      204,
    );
    expect((await call('GET', `/api/v1/admin/users/${user.id}`, adminToken)).statusCode).toBe(404);
  });

  it('refuses to disable or delete your own account', async () => {
    const self = await call('PATCH', `/api/v1/admin/users/${admin.id}`, adminToken, {
      disabled: true,
    });
    expect(self.statusCode).toBe(409);
    expect(self.json().error.code).toBe('SELF_LOCKOUT');
    expect((await call('DELETE', `/api/v1/admin/users/${admin.id}`, adminToken)).statusCode).toBe(
      409,
    );
  });

  it('a token loses admin routes when its member stops being an administrator', async () => {
    const ex = await newUser(['gatehouse:admin']);
    const token = await tokenFor(ex, ['gatehouse:admin']);
    expect((await call('GET', '/api/v1/admin/users', token)).statusCode).toBe(200);
    await t.gh.accounts.revokePermission(ex.id, 'gatehouse:admin');
    expect((await call('GET', '/api/v1/admin/users', token)).statusCode).toBe(403);
  });
});

describe(`rate limits (${storageMode()})`, () => {
  it('answers 429 with Retry-After per token and per address', async () => {
    const limited = await createTestGatehouse({ apiLimits: { perToken: 3, perAddress: 5 } });
    try {
      const user = await limited.gh.accounts.create({ username: 'rl', email: 'rl@example.org' });
      const { token } = await limited.gh.apiTokens.create(user.id, {
        name: 'rl',
        scopes: ['account:read'],
        expiresAt: null,
      });
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 10; i++) {
        const res = await limited.app.inject({
          method: 'GET',
          url: '/api/v1/me',
          remoteAddress: '198.51.100.1',
          headers: { authorization: `Bearer ${token}` },
        });
        statuses.push(res.statusCode);
        // Counting happens off the request path; a store round trip lets it land.
        await limited.stores.kv.ping();
        if (res.statusCode === 429) {
          retryAfter = res.headers['retry-after'] as string;
          expect(res.json().error.code).toBe('RATE_LIMITED');
        }
      }
      expect(statuses).toEqual([200, 200, 200, ...Array(7).fill(429)]);
      expect(Number(retryAfter)).toBeGreaterThan(0);

      // Unauthenticated guesses from one address are limited too.
      const guesses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await limited.app.inject({
          method: 'GET',
          url: '/api/v1/me',
          remoteAddress: '198.51.100.2',
          headers: { authorization: 'Bearer gth_api_guess' },
        });
        guesses.push(res.statusCode);
        await limited.stores.kv.ping();
      }
      expect(guesses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    } finally {
      await limited.close();
    }
  });
});

describe(`admin client routes (${storageMode()})`, () => {
  it('registers, reads, changes, rotates and deletes an OIDC client; the secret is shown once', async () => {
    const created = await call('POST', '/api/v1/admin/clients', adminToken, {
      name: 'Wiki',
      redirect_uris: ['https://wiki.example.org/cb'],
      launch_url: 'https://wiki.example.org/',
    });
    expect(created.statusCode).toBe(201);
    const client = created.json();
    expect(client.client_secret).toMatch(/^gth_cs_/);
    expect(client.grant_types).toEqual(['authorization_code', 'refresh_token']);

    const got = await call('GET', `/api/v1/admin/clients/${client.client_id}`, adminToken);
    expect(got.json()).not.toHaveProperty('client_secret');
    expect(got.body).not.toContain('gth_cs_');

    const listed = await call('GET', '/api/v1/admin/clients?limit=100', adminToken);
    expect(listed.json().items.map((c: { client_id: string }) => c.client_id)).toContain(
      client.client_id,
    );

    const changed = await call('PATCH', `/api/v1/admin/clients/${client.client_id}`, adminToken, {
      first_party: true,
    });
    expect(changed.json().first_party).toBe(true);

    const rotated = await call(
      'POST',
      `/api/v1/admin/clients/${client.client_id}/secret`,
      adminToken,
    );
    expect(rotated.json().client_secret).not.toBe(client.client_secret);
    const oldRow = await t.gh.clients.row(client.client_id);
    expect(t.gh.clients.checkSecret(oldRow!, client.client_secret)).toBe(false);
    expect(t.gh.clients.checkSecret(oldRow!, rotated.json().client_secret)).toBe(true);

    const deleted = await call('DELETE', `/api/v1/admin/clients/${client.client_id}`, adminToken);
    expect(deleted.statusCode).toBe(204);
    expect(
      (await call('GET', `/api/v1/admin/clients/${client.client_id}`, adminToken)).statusCode,
    ).toBe(404);
  });

  it('explains a contradiction with a stable code', async () => {
    const res = await call('POST', '/api/v1/admin/clients', adminToken, {
      name: 'Bad',
      public: true,
      grant_types: ['client_credentials'],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'CLIENT_INVALID' });
    expect(res.json().error.message).toContain('public client has no secret');
  });
});
