import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGatehouse, storageMode, type TestGatehouse } from '../testing/test-gatehouse.ts';
import { CLI_ACTOR } from './audit.ts';

let t: TestGatehouse;
beforeAll(async () => {
  t = await createTestGatehouse();
});
afterAll(async () => {
  await t?.close();
});

/** The newest entry with this action, as the audit API shows it. */
async function last(action: string) {
  const entry = (await t.gh.audit.recent(200)).find((e) => e.action === action);
  if (!entry) throw new Error(`no ${action} entry`);
  const { actorId, target, ip, details } = entry;
  return { actorId, target, ip, details };
}

describe(`the services record their own audit entries (${storageMode()})`, () => {
  it('names the surface and, when someone else acted, the owner; nothing more', async () => {
    const admin = await t.gh.accounts.create(
      { username: 'auditadmin', email: 'auditadmin@example.org', admin: true },
      CLI_ACTOR,
    );
    expect(await last('user.create')).toEqual({
      actorId: null,
      target: `user:${admin.id}`,
      ip: null,
      details: { via: 'cli' },
    });
    const api = { userId: admin.id, ip: '192.0.2.7', via: 'api' as const };
    const ada = await t.gh.accounts.create({ username: 'auditada', email: 'ada@example.org' }, api);
    const mine = { userId: ada.id, ip: '192.0.2.8', via: 'api' as const };

    const { info } = await t.gh.apiTokens.create(
      ada.id,
      { name: 'mine', scopes: ['account:read'], expiresAt: null },
      mine,
    );
    expect(await last('apitoken.create')).toEqual({
      actorId: ada.id,
      target: `apitoken:${info.id}`,
      ip: '192.0.2.8',
      details: { via: 'api', scopes: ['account:read'] },
    });
    await t.gh.apiTokens.revoke(info.id, { userId: ada.id }, api);
    expect(await last('apitoken.revoke')).toEqual({
      actorId: admin.id,
      target: `apitoken:${info.id}`,
      ip: '192.0.2.7',
      details: { via: 'api', userId: ada.id },
    });

    const { session } = await t.gh.sessions.create(ada.id, { ip: '192.0.2.9' });
    expect(await last('session.sign_in')).toEqual({
      actorId: ada.id,
      target: null,
      ip: '192.0.2.9',
      details: null,
    });
    expect(await t.gh.sessions.revokeOne(mine, admin.id, session.id)).toBe(false);
    expect(
      await t.gh.sessions.revokeOne({ userId: ada.id, ip: '192.0.2.8' }, ada.id, session.id),
    ).toBe(true);
    expect(await last('session.revoke')).toEqual({
      actorId: ada.id,
      target: `session:${session.id}`,
      ip: '192.0.2.8',
      details: null,
    });

    await t.gh.accounts.delete(ada.id, api);
    expect(await last('user.delete')).toEqual({
      actorId: admin.id,
      target: `user:${ada.id}`,
      ip: '192.0.2.7',
      details: { via: 'api', username: 'auditada' },
    });
  });

  it('records nothing for a step of another change (no actor)', async () => {
    const before = (await t.gh.audit.recent(1))[0]?.id ?? 0;
    const { client } = await t.gh.clients.create({
      name: 'Unrecorded',
      redirectUris: ['https://unrecorded.example/cb'],
    });
    await t.gh.clients.delete(client.clientId);
    expect((await t.gh.audit.recent(1))[0]?.id ?? 0).toBe(before);
  });
});
