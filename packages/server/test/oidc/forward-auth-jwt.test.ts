// Forward auth accepts a JWT access token Gatehouse issued for the protected service's origin
// (a resource indicator), checked locally against the published keys, to a client still
// allowed that resource and whose access rule the member passes, and nothing else.

import { generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../../src/config/forward-auth.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../src/testing/test-gatehouse.ts';

let t: TestGatehouse;
let userId: string;
let clientId: string;

beforeAll(async () => {
  t = await createTestGatehouse({
    overrides: {
      forwardAuth: parseForwardAuth(
        {
          rules: [
            { host: 'api.example.org', policy: 'signed_in' },
            { host: 'wiki.example.org', policy: 'signed_in' },
          ],
        },
        'test',
      ),
    },
  });
  userId = (await t.gh.accounts.create({ username: 'cli', email: 'cli@example.org' })).id;
  clientId = (
    await t.gh.clients.create({
      name: 'Command line',
      grantTypes: ['client_credentials'],
      resources: ['https://api.example.org'],
    })
  ).client.clientId;
});
afterAll(() => t?.close());

async function token(
  claims: Record<string, unknown> = {},
  key?: { key: Parameters<SignJWT['sign']>[0]; kid: string },
) {
  const current = (await t.gh.signingKeys.load()).provider.find(
    (k) => k.alg === 'RS256' && !k.key_ops,
  ) as JWK;
  const signer = key ?? {
    key: await importJWK(current, 'RS256'),
    kid: current.kid!,
  };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: userId,
    iss: t.config.issuer,
    aud: 'https://api.example.org',
    iat: now,
    exp: now + 600,
    scope: 'openid',
    client_id: clientId,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'at+jwt' })
    .sign(signer.key);
}

function verify(bearer: string, url = 'https://api.example.org/v1/things') {
  return t.app.inject({
    url: '/auth/verify',
    headers: {
      authorization: `Bearer ${bearer}`,
      'x-original-url': url,
      accept: 'application/json',
    },
  });
}

describe(`forward auth with JWT access tokens (${storageMode()})`, () => {
  it('lets in a token issued for the service, as its member', async () => {
    const res = await verify(await token());
    expect(res.statusCode).toBe(200);
    expect(res.headers['remote-user']).toBe('cli');
  });

  it('refuses the same token at another service, and forged, expired or foreign tokens', async () => {
    const good = await token();
    expect((await verify(good, 'https://wiki.example.org/')).statusCode).toBe(401);
    expect(
      (await verify(await token({ exp: Math.floor(Date.now() / 1000) - 60 }))).statusCode,
    ).toBe(401);
    expect((await verify(await token({ iss: 'https://evil.example' }))).statusCode).toBe(401);
    const other = await generateKeyPair('RS256');
    expect((await verify(await token({}, { key: other.privateKey, kid: 'nope' }))).statusCode).toBe(
      401,
    );
    const [header, body] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${body}.`;
    expect((await verify(none)).statusCode).toBe(401);
    expect((await verify(`${header}.${body}.${'A'.repeat(342)}`)).statusCode).toBe(401);
  });

  it('refuses a token issued to a client not allowed the service, or no longer allowed it', async () => {
    const other = await t.gh.clients.create({
      name: 'Evil',
      grantTypes: ['client_credentials'],
    });
    expect((await verify(await token({ client_id: other.client.clientId }))).statusCode).toBe(401);
    expect((await verify(await token({ client_id: undefined }))).statusCode).toBe(401);

    const lab = await t.gh.clients.create({
      name: 'Lab tool',
      grantTypes: ['client_credentials'],
      resources: ['https://api.example.org/'],
    });
    const labToken = await token({ client_id: lab.client.clientId, jti: 'lab' });
    expect((await verify(labToken)).statusCode).toBe(200);
    // The administrator takes the resource away: the token's lease ends at once.
    await t.gh.clients.update(lab.client.clientId, { resources: [] });
    expect((await verify(labToken)).statusCode).toBe(401);
  });

  it("refuses the token of a member who no longer passes the client's access rule", async () => {
    const system = { userId: null };
    await t.gh.access.createGroup(system, { path: 'api-users' });
    const ruled = await t.gh.clients.create({
      name: 'Ruled',
      grantTypes: ['client_credentials'],
      resources: ['https://api.example.org'],
      accessRule: 'api-users',
    });
    const ruledToken = await token({ client_id: ruled.client.clientId, jti: 'ruled' });
    expect((await verify(ruledToken)).statusCode).toBe(401);
    await t.gh.access.addMember(system, 'api-users', userId);
    expect(
      (await verify(await token({ client_id: ruled.client.clientId, jti: 'r2' }))).statusCode,
    ).toBe(200);
  });

  it('refuses the token of a disabled member', async () => {
    const bob = await t.gh.accounts.create({ username: 'gone', email: 'gone@example.org' });
    const res = await verify(await token({ sub: bob.id, jti: 'x' }));
    expect(res.statusCode).toBe(200);
    await t.gh.accounts.setDisabled(bob.id, true);
    expect((await verify(await token({ sub: bob.id, jti: 'y' }))).statusCode).toBe(401);
  });
});
