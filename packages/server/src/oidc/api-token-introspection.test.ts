// Introspection (RFC 7662) of Gatehouse API tokens, as a service's SDK asks it: the member,
// the token's scopes, and whether the email address is one Gatehouse verified.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGatehouse, storageMode, type TestGatehouse } from '../testing/test-gatehouse.ts';

let t: TestGatehouse;
let userId: string;

beforeAll(async () => {
  t = await createTestGatehouse();
  userId = (await t.gh.accounts.create({ username: 'ada', email: 'ada@example.org' })).id;
  await t.gh.accounts.grantPermission(userId, 'upload:write');
});
afterAll(() => t?.close());

const introspect = (token: string) =>
  t.gh.oidc.introspectApiToken('files', token, { address: '127.0.0.1' });

async function tokenWith(...scopes: string[]) {
  return (await t.gh.apiTokens.create(userId, { name: scopes.join(' '), scopes, expiresAt: null }))
    .token;
}

describe(`introspection of API tokens (${storageMode()})`, () => {
  it('answers the member and the scopes, and says the email address is not verified', async () => {
    const answer = await introspect(await tokenWith('upload:write'));
    expect(answer).toMatchObject({
      active: true,
      token_type: 'gatehouse_api_token',
      sub: userId,
      username: 'ada',
      email: 'ada@example.org',
      email_verified: false,
      scope: 'upload:write',
      permissions: ['upload:write'],
    });
  });

  it('says so once the address is verified', async () => {
    await t.gh.accounts.updateProfile(userId, { emailVerified: true });
    expect(await introspect(await tokenWith('upload:write'))).toMatchObject({
      email_verified: true,
    });
  });

  it('is inactive for a revoked, malformed or foreign token, and for a disabled member', async () => {
    const token = await tokenWith('upload:write');
    for (const bad of ['', 'gth_nope', 'x'.repeat(10_000), 'eyJhbGciOiJub25lIn0.e30.']) {
      expect(await introspect(bad)).toEqual({ active: false });
    }
    await t.gh.accounts.setDisabled(userId, true);
    expect(await introspect(token)).toEqual({ active: false });
    await t.gh.accounts.setDisabled(userId, false);
    expect((await introspect(token)).active).toBe(true);
    const created = await t.gh.apiTokens.create(userId, {
      name: 'revoked',
      scopes: ['upload:write'],
      expiresAt: null,
    });
    expect(await t.gh.apiTokens.revoke(created.info.id)).toBe(true);
    expect(await introspect(created.token)).toEqual({ active: false });
  });
});
