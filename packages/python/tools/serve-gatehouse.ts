// A real Gatehouse for the Python tests: createTestGatehouse() served on loopback (the storage
// mode follows the test environment: embedded, or Postgres + Redis with GATEHOUSE_TEST_*), driven
// over stdin/stdout with one JSON object per line, so pytest can set it up and act on it.
//
//   node_modules/.bin/node packages/python/tools/serve-gatehouse.ts
//   → {"issuer":"http://127.0.0.1:…"}
//   ← {"op":"client","name":"svc","redirectUris":["http://127.0.0.1:5000/auth/callback"]}
//   → {"ok":true,"result":{"clientId":"…","clientSecret":"…"}}
//
// Operations: client, member, sign (an access token signed with Gatehouse's current key, a
// test-only use), session (a Gatehouse sign-in session), signOut (every session of a member: Gatehouse pushes `recheck`), apiToken,
// revokeApiToken, rotateKeys. The process ends when stdin closes.

import { createInterface } from 'node:readline';
import { importJWK, type JWK, SignJWT } from 'jose';
import { serveTestGatehouse } from '../../server/test/browser/chromium.ts';

const served = await serveTestGatehouse({
  overrides: { logLevel: (process.env.GH_LOG as never) ?? 'silent' },
});
const { gh } = served;
const PASSWORD = 'correct horse battery staple';

async function currentKey() {
  const keys = await gh.signingKeys.load();
  const jwk = keys.provider.find((k) => !k.key_ops) as JWK & { kid: string; alg?: string };
  return { kid: jwk.kid, alg: jwk.alg ?? 'RS256', key: await importJWK(jwk, jwk.alg ?? 'RS256') };
}

type Request = Record<string, unknown> & { op: string };

const ops: Record<string, (r: Request) => Promise<unknown>> = {
  async client(r) {
    const redirectUris = (r.redirectUris as string[] | undefined) ?? [];
    const { client, secret } = await gh.clients.create({
      name: String(r.name),
      redirectUris,
      postLogoutRedirectUris: (r.postLogoutRedirectUris as string[] | undefined) ?? [],
      firstParty: true,
      resources:
        (r.resources as string[] | undefined) ?? redirectUris.map((u) => `${new URL(u).origin}/`),
    });
    return { clientId: client.clientId, clientSecret: secret };
  },
  async member(r) {
    const user = await gh.accounts.create({
      username: String(r.username),
      name: String(r.name ?? r.username),
      email: `${String(r.username)}@example.org`,
      emailVerified: true,
      password: PASSWORD,
    });
    for (const p of (r.permissions as string[] | undefined) ?? []) {
      await gh.accounts.grantPermission(user.id, p);
    }
    const system = { userId: null };
    for (const path of (r.groups as string[] | undefined) ?? []) {
      const segments = path.split('/');
      for (let i = 1; i <= segments.length; i++) {
        const prefix = segments.slice(0, i).join('/');
        if (!(await gh.access.findGroup(prefix)))
          await gh.access.createGroup(system, { path: prefix });
      }
      await gh.access.addMember(system, path, user.id);
    }
    return { id: user.id, password: PASSWORD };
  },
  async sign(r) {
    const sub = String(r.sub);
    const user = await gh.accounts.findById(sub);
    const { kid, alg, key } = await currentKey();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub,
      iss: served.baseUrl,
      aud: r.aud as string,
      iat: now,
      exp: now + 600,
      jti: crypto.randomUUID(),
      client_id: 'python-tests',
      preferred_username: user?.username,
      name: user?.name ?? user?.username,
      groups: await gh.access.groupsOf(sub),
      permissions: await gh.access.permissionsOf(sub),
      ...((r.claims as Record<string, unknown> | undefined) ?? {}),
    })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .sign(key);
  },
  async session(r) {
    // A Gatehouse sign-in session (as /login makes), so that signing out has one to end.
    await gh.sessions.create(String(r.sub), { ip: '127.0.0.1', userAgent: 'python-tests' });
    return true;
  },
  async signOut(r) {
    await gh.sessions.revokeAllForUser(String(r.sub));
    return true;
  },
  async apiToken(r) {
    const { token, info } = await gh.apiTokens.create(String(r.sub), {
      name: String(r.name ?? 'python-tests'),
      scopes: (r.scopes as string[] | undefined) ?? [],
      expiresAt: null,
    });
    return { token, id: info.id };
  },
  async revokeApiToken(r) {
    return gh.apiTokens.revoke(String(r.id));
  },
  async rotateKeys() {
    await gh.signingKeys.rotate(24 * 3600_000);
    await served.app.oidc.reloadKeys();
    gh.events.emit({ type: 'keys.rotated' });
    return true;
  },
};

process.stdout.write(`${JSON.stringify({ issuer: served.baseUrl })}\n`);
const lines = createInterface({ input: process.stdin });
// One request at a time, answered in order.
for await (const line of lines) {
  if (!line.trim()) continue;
  try {
    const request = JSON.parse(line) as Request;
    const op = ops[request.op];
    if (!op) throw new Error(`unknown op ${request.op}`);
    process.stdout.write(`${JSON.stringify({ ok: true, result: await op(request) })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err) })}\n`);
  }
}
await served.close();
process.exit(0);
