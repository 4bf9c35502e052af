import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretToken } from '../crypto/secret-tokens.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';

const DAY = 86_400_000;
let clock = Date.parse('2026-11-22T12:00:00Z');
const now = () => clock;

let stores: TestStores;
let a: TestGatehouse;
let b: TestGatehouse;
let userId: string;

beforeAll(async () => {
  stores = await createTestStores();
  const overrides = { sessions: { idleTimeoutMs: 2 * DAY, absoluteTimeoutMs: 10 * DAY } };
  // Two instances behind one load balancer: same database, same shared store.
  a = await createTestGatehouse({ stores, now, overrides });
  b = await createTestGatehouse({ stores, now, overrides });
  userId = (await a.gh.accounts.create({ username: 'sam', email: 'sam@example.org' })).id;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await stores?.destroy();
});

describe(`sessions (${storageMode()})`, () => {
  it('creates a session whose token verifies on every instance', async () => {
    const { token, session } = await a.gh.sessions.create(userId, {
      ip: '192.0.2.1',
      userAgent: 'test',
    });
    expect(token).toMatch(/^gth_sess_/);
    expect((await a.gh.sessions.verify(token))?.id).toBe(session.id);
    expect((await b.gh.sessions.verify(token))?.userId).toBe(userId);
  });

  it('stores only a hash of the secret', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    const result = (await stores.database.db.execute(
      `select * from sessions where id = '${session.id}'`,
    )) as unknown as { rows: Record<string, unknown>[] };
    const text = JSON.stringify(result.rows);
    expect(text).not.toContain(token.slice(9 + 32, 9 + 32 + 43)); // the secret part
    expect(result.rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses malformed, forged and tampered tokens', async () => {
    const { token } = await a.gh.sessions.create(userId);
    const forged = generateSecretToken(
      'sess',
      (await a.gh.sessions.listForUser(userId))[0]!.id,
    ).token;
    for (const bad of [
      undefined,
      null,
      42,
      '',
      'garbage',
      token.slice(0, -1),
      `${token}x`,
      token.replace('gth_sess_', 'gth_api_'),
      forged,
      'x'.repeat(100_000),
    ]) {
      expect(await a.gh.sessions.verify(bad)).toBeNull();
    }
  });

  it('ends a session after the idle timeout, and activity keeps it alive', async () => {
    const { token } = await a.gh.sessions.create(userId);
    clock += 1.5 * DAY;
    expect(await a.gh.sessions.verify(token)).not.toBeNull(); // activity recorded
    clock += 1.5 * DAY;
    expect(await a.gh.sessions.verify(token)).not.toBeNull();
    clock += 2 * DAY + 1;
    expect(await a.gh.sessions.verify(token)).toBeNull();
    expect(await b.gh.sessions.verify(token)).toBeNull();
  });

  it('ends a session at the absolute timeout however active it is', async () => {
    const { token } = await a.gh.sessions.create(userId);
    for (let day = 0; day < 9; day++) {
      clock += DAY;
      expect(await a.gh.sessions.verify(token)).not.toBeNull();
    }
    clock += DAY;
    expect(await a.gh.sessions.verify(token)).toBeNull();
  });

  it('revokes a session on every instance, including one that had it cached', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    expect(await b.gh.sessions.verify(token)).not.toBeNull(); // cached on b
    await a.gh.sessions.revoke(session.id);
    expect(await a.gh.sessions.verify(token)).toBeNull();
    await expect
      .poll(() => b.gh.sessions.verify(token), { timeout: 2000, interval: 20 })
      .toBeNull();
  });

  it('revokes all of a user’s sessions but the one asked to keep', async () => {
    const keep = await a.gh.sessions.create(userId);
    const other = await a.gh.sessions.create(userId);
    await b.gh.sessions.verify(other.token);
    const ended = await a.gh.sessions.revokeAllForUser(userId, { except: keep.session.id });
    expect(ended).toBeGreaterThanOrEqual(1);
    expect(await a.gh.sessions.verify(keep.token)).not.toBeNull();
    expect(await a.gh.sessions.verify(other.token)).toBeNull();
    await expect
      .poll(() => b.gh.sessions.verify(other.token), { timeout: 2000, interval: 20 })
      .toBeNull();
    expect((await a.gh.sessions.listForUser(userId)).map((s) => s.id)).toEqual([keep.session.id]);
  });

  it('keeps a revoked session refused when a racing write puts it back in the shared cache', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    const cached = await stores.kv.get(`sess:${session.id}`);
    await a.gh.sessions.revoke(session.id);
    // Another instance's activity write-back lands after the revocation.
    await stores.kv.set(`sess:${session.id}`, cached!, 60_000);
    const late = await createTestGatehouse({ stores, now });
    try {
      expect(await late.gh.sessions.verify(token)).toBeNull();
      expect(await b.gh.sessions.verify(token)).toBeNull();
    } finally {
      await late.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('survives a restart: a new instance on the same database accepts the cookie', async () => {
    const { token } = await a.gh.sessions.create(userId);
    await stores.kv.del(`sess:${(await a.gh.sessions.verify(token))!.id}`); // the shared cache is gone too
    const restarted = await createTestGatehouse({ stores, now });
    try {
      expect((await restarted.gh.sessions.verify(token))?.userId).toBe(userId);
    } finally {
      await restarted.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('purges expired rows', async () => {
    await a.gh.sessions.create(userId);
    clock += 11 * DAY;
    expect(await a.gh.sessions.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await a.gh.sessions.listForUser(userId)).toEqual([]);
  });
});
