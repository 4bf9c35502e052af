import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_TOKEN_PATTERN } from '../crypto/secret-tokens.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';
import { NO_EXPIRY_WARNING } from './apitokens.ts';
import { apiTokens } from './tables.ts';

let clock = Date.parse('2026-06-01T12:00:00Z');
const now = () => clock;
let stores: TestStores;
let a: TestGatehouse;
let b: TestGatehouse;
let n = 0;

async function member(permissions: string[] = []) {
  const i = ++n;
  const user = await a.gh.accounts.create({ username: `t${i}`, email: `t${i}@example.org` });
  for (const p of permissions) await a.gh.accounts.grantPermission(user.id, p);
  return user;
}

/** Waits until the other instance has applied what the event bus carried. */
async function eventually(check: () => Promise<boolean>) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition never held');
}

beforeAll(async () => {
  stores = await createTestStores();
  a = await createTestGatehouse({ stores, now });
  b = await createTestGatehouse({ stores, now });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await stores?.destroy();
});

describe(`API tokens (${storageMode()})`, () => {
  it('creates a gth_api_ token shown once, stored only as a hash, and verifies it', async () => {
    const user = await member(['upload:read']);
    const { token, info, warnings } = await a.gh.apiTokens.create(user.id, {
      name: ' deploy script ',
      scopes: ['upload:read', 'account:read', 'upload:read'],
      expiresAt: clock + 86_400_000,
    });
    expect(token).toMatch(new RegExp(`^${SECRET_TOKEN_PATTERN}$`));
    expect(token.startsWith('gth_api_')).toBe(true);
    expect(info).toMatchObject({ name: 'deploy script', scopes: ['account:read', 'upload:read'] });
    expect(warnings).toEqual([]);
    const [row] = await stores.database.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, info.id));
    expect(JSON.stringify(row)).not.toContain(token.slice(40, 80));
    expect(await a.gh.apiTokens.verify(token)).toEqual({
      tokenId: info.id,
      userId: user.id,
      scopes: ['account:read', 'upload:read'],
      expiresAt: clock + 86_400_000,
    });
    // The other instance checks it from the shared database.
    expect((await b.gh.apiTokens.verify(token))?.tokenId).toBe(info.id);
  });

  it('refuses malformed, tampered and unknown tokens', async () => {
    const user = await member();
    const { token } = await a.gh.apiTokens.create(user.id, {
      name: 'x',
      scopes: ['account:read'],
      expiresAt: null,
    });
    for (const bad of [
      '',
      'gth_api_',
      token.slice(0, -1),
      `${token}x`,
      token.replace('gth_api_', 'gth_sess_'),
      `${token.slice(0, 50)}${token[50] === 'A' ? 'B' : 'A'}${token.slice(51)}`,
      42 as unknown as string,
      null as unknown as string,
    ]) {
      expect(await a.gh.apiTokens.verify(bad)).toBeNull();
    }
    // A well-formed token for an unknown row.
    const { generateSecretToken } = await import('../crypto/secret-tokens.ts');
    expect(await a.gh.apiTokens.verify(generateSecretToken('api').token)).toBeNull();
  });

  it('refuses scopes the member does not hold, and malformed names and scopes', async () => {
    const user = await member(['upload:read']);
    const create = (input: Partial<Parameters<typeof a.gh.apiTokens.create>[1]>) =>
      a.gh.apiTokens.create(user.id, {
        name: 'n',
        scopes: ['account:read'],
        expiresAt: null,
        ...input,
      });
    await expect(create({ scopes: ['upload:write'] })).rejects.toMatchObject({
      code: 'TOKEN_SCOPE_NOT_HELD',
      status: 403,
    });
    await expect(create({ scopes: ['gatehouse:admin'] })).rejects.toMatchObject({
      code: 'TOKEN_SCOPE_NOT_HELD',
    });
    await expect(create({ scopes: [] })).rejects.toMatchObject({ code: 'TOKEN_SCOPES_INVALID' });
    await expect(create({ scopes: ['has space'] })).rejects.toMatchObject({
      code: 'TOKEN_SCOPES_INVALID',
    });
    await expect(create({ name: '' })).rejects.toMatchObject({ code: 'TOKEN_NAME_INVALID' });
    await expect(create({ name: 'a\u0000b' })).rejects.toMatchObject({
      code: 'TOKEN_NAME_INVALID',
    });
    await expect(create({ name: 'x'.repeat(101) })).rejects.toMatchObject({
      code: 'TOKEN_NAME_INVALID',
    });
    await expect(create({ expiresAt: clock - 1 })).rejects.toMatchObject({
      code: 'TOKEN_EXPIRY_INVALID',
    });
    const none = await create({ expiresAt: null });
    expect(none.warnings).toEqual([NO_EXPIRY_WARNING]);
    const admin = await member(['gatehouse:admin']);
    const ok = await a.gh.apiTokens.create(admin.id, {
      name: 'ops',
      scopes: ['gatehouse:admin'],
      expiresAt: null,
    });
    expect(ok.info.scopes).toEqual(['gatehouse:admin']);
  });

  it('stops working once expired', async () => {
    const user = await member();
    const { token } = await a.gh.apiTokens.create(user.id, {
      name: 'short',
      scopes: ['account:read'],
      expiresAt: clock + 60_000,
    });
    expect(await a.gh.apiTokens.verify(token)).not.toBeNull();
    clock += 60_000;
    expect(await a.gh.apiTokens.verify(token)).toBeNull();
    expect((await a.gh.apiTokens.listForUser(user.id))[0]?.expired).toBe(true);
  });

  it('revocation takes effect at once on every instance, even after caching', async () => {
    const user = await member();
    const { token, info } = await a.gh.apiTokens.create(user.id, {
      name: 'r',
      scopes: ['account:read'],
      expiresAt: null,
    });
    expect(await a.gh.apiTokens.verify(token)).not.toBeNull();
    expect(await b.gh.apiTokens.verify(token)).not.toBeNull();
    expect(
      await b.gh.apiTokens.revoke(info.id, { userId: 'ffffffff-ffff-ffff-ffff-ffffffffffff' }),
    ).toBe(false);
    expect(await b.gh.apiTokens.revoke(info.id, { userId: user.id })).toBe(true);
    expect(await b.gh.apiTokens.verify(token)).toBeNull();
    await eventually(async () => (await a.gh.apiTokens.verify(token)) === null);
    expect(await a.gh.apiTokens.listForUser(user.id)).toEqual([]);
  });

  it("a disabled member's tokens stop working on every instance, and work again when enabled", async () => {
    const user = await member();
    const { token } = await a.gh.apiTokens.create(user.id, {
      name: 'd',
      scopes: ['account:read'],
      expiresAt: null,
    });
    expect(await b.gh.apiTokens.verify(token)).not.toBeNull();
    await a.gh.accounts.setDisabled(user.id, true);
    expect(await a.gh.apiTokens.verify(token)).toBeNull();
    await eventually(async () => (await b.gh.apiTokens.verify(token)) === null);
    await a.gh.accounts.setDisabled(user.id, false);
    await eventually(async () => (await b.gh.apiTokens.verify(token)) !== null);
  });

  it('narrows scopes to permissions the member still holds', async () => {
    const user = await member(['upload:read']);
    const { token } = await a.gh.apiTokens.create(user.id, {
      name: 'p',
      scopes: ['upload:read'],
      expiresAt: null,
    });
    expect((await a.gh.apiTokens.verify(token))?.scopes).toEqual(['upload:read']);
    await a.gh.accounts.revokePermission(user.id, 'upload:read');
    expect((await a.gh.apiTokens.verify(token))?.scopes).toEqual([]);
  });

  it('records last use at most once a minute per token', async () => {
    const user = await member();
    const { token, info } = await a.gh.apiTokens.create(user.id, {
      name: 'u',
      scopes: ['account:read'],
      expiresAt: null,
    });
    await a.gh.apiTokens.verify(token, { address: '192.0.2.1' });
    await eventually(async () => (await a.gh.apiTokens.get(info.id))?.lastUsedIp === '192.0.2.1');
    const first = (await a.gh.apiTokens.get(info.id))!.lastUsedAt!.getTime();
    clock += 30_000;
    await a.gh.apiTokens.verify(token, { address: '192.0.2.2' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await a.gh.apiTokens.get(info.id))!.lastUsedIp).toBe('192.0.2.1');
    clock += 31_000;
    await a.gh.apiTokens.verify(token, { address: '192.0.2.3' });
    await eventually(async () => (await a.gh.apiTokens.get(info.id))?.lastUsedIp === '192.0.2.3');
    expect((await a.gh.apiTokens.get(info.id))!.lastUsedAt!.getTime()).toBe(first + 61_000);
  });

  it('revokes all of a member', async () => {
    const user = await member();
    const tokens = [];
    for (const name of ['a', 'b']) {
      tokens.push(
        (await a.gh.apiTokens.create(user.id, { name, scopes: ['account:read'], expiresAt: null }))
          .token,
      );
    }
    expect(await a.gh.apiTokens.revokeAllForUser(user.id)).toBe(2);
    for (const t of tokens) expect(await a.gh.apiTokens.verify(t)).toBeNull();
  });
});
