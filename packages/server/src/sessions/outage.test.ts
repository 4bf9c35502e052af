// Sessions while the shared store fails: a revocation takes effect everywhere or fails with
// nothing changed, and what is left of it is retried until it takes; an activity write-back
// never brings a revoked session back; an instance that may have missed revocations drops
// what it held; a session held in memory keeps working through a short outage.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFlakyKv, type FlakyKv } from '../testing/flaky-kv.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';
import { STALE_GRACE_MS } from './sessions.ts';

const MINUTE = 60_000;
let clock = Date.parse('2026-11-22T12:00:00Z');
const now = () => clock;

let stores: TestStores;
let kvA: FlakyKv;
let kvB: FlakyKv;
let a: TestGatehouse;
let b: TestGatehouse;
let userId: string;

beforeAll(async () => {
  stores = await createTestStores();
  kvA = createFlakyKv(stores.kv);
  kvB = createFlakyKv(stores.kv);
  // Two instances behind one load balancer, each with its own connection to the shared store.
  a = await createTestGatehouse({ stores: { ...stores, kv: kvA }, now });
  b = await createTestGatehouse({ stores: { ...stores, kv: kvB }, now });
  userId = (await a.gh.accounts.create({ username: 'robin', email: 'robin@example.org' })).id;
});
afterEach(() => {
  for (const kv of [kvA, kvB]) {
    kv.restore();
    kv.reconnect();
  }
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await stores?.destroy();
});

const listed = async (id: string) =>
  (await a.gh.sessions.listForUser(userId)).some((s) => s.id === id);

describe(`sessions during a shared-store outage (${storageMode()})`, () => {
  it('refuses a revocation while the shared store is down, with nothing changed, and takes it once it is back', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    expect(await b.gh.sessions.verify(token)).not.toBeNull(); // held in b's memory
    kvA.fail();
    await expect(a.gh.sessions.revoke(session.id)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    // Nothing changed: the row is there, and the session still works where it did.
    expect(await listed(session.id)).toBe(true);
    expect(await b.gh.sessions.verify(token)).not.toBeNull();
    kvA.restore();
    expect(await a.gh.sessions.revoke(session.id)).toBe(true);
    expect(await listed(session.id)).toBe(false);
    await expect
      .poll(() => b.gh.sessions.verify(token), { timeout: 2000, interval: 20 })
      .toBeNull();
  });

  it('retries a revocation whose event could not be sent until every instance has it', async () => {
    const first = await a.gh.sessions.create(userId);
    const second = await a.gh.sessions.create(userId);
    for (const s of [first, second]) expect(await b.gh.sessions.verify(s.token)).not.toBeNull();
    kvA.fail(['publish']);
    await expect(a.gh.sessions.revokeAllForUser(userId)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    // Refused at once where it was made; the rows wait until everyone has been told.
    expect(await a.gh.sessions.verify(first.token)).toBeNull();
    expect(await listed(first.session.id)).toBe(true);
    kvA.restore();
    for (const s of [first, second]) {
      await expect
        .poll(() => b.gh.sessions.verify(s.token), { timeout: 10_000, interval: 50 })
        .toBeNull();
      await expect.poll(() => listed(s.session.id), { timeout: 10_000, interval: 50 }).toBe(false);
    }
  });

  it('never writes activity back over a session revoked meanwhile', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    clock += MINUTE + 1;
    const release = kvB.holdWrites('sess:');
    // b notes the activity; its write to the shared store is still on the way...
    expect(await b.gh.sessions.verify(token)).not.toBeNull();
    // ...when a revokes the session.
    await a.gh.sessions.revoke(session.id);
    await release();
    await expect.poll(() => stores.kv.get(`sess:${session.id}`)).toBeNull();
    expect(await stores.kv.get(`sess:${session.id}`)).toBeNull();
  });

  it('asks the shared store, not its memory, while it cannot hear revocations', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    expect(await b.gh.sessions.verify(token)).not.toBeNull();
    kvB.deafen(); // b's subscriber connection is gone (its commands still work)
    await a.gh.sessions.revoke(session.id); // the event does not reach b...
    expect(await b.gh.sessions.verify(token)).toBeNull(); // ...the tombstone does
    kvB.reconnect();
    expect(await b.gh.sessions.verify(token)).toBeNull();
  });

  it('drops what it holds when its event channel comes back after a gap', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    expect(await b.gh.sessions.verify(token)).not.toBeNull();
    kvB.deafen();
    kvB.fail(); // and then the whole store is down for b
    await a.gh.sessions.revoke(session.id);
    expect(await b.gh.sessions.verify(token)).not.toBeNull(); // served from memory meanwhile
    kvB.restore();
    kvB.reconnect(); // b missed the revocation: what it held is read again
    expect(await b.gh.sessions.verify(token)).toBeNull();
  });

  it('drops the memo of verified cookies when its event channel comes back after a gap', async () => {
    const { token, session } = await a.gh.sessions.create(userId);
    for (let i = 0; i < 3; i++) expect(await b.gh.sessions.verify(token)).not.toBeNull();
    kvB.deafen();
    await a.gh.sessions.revoke(session.id); // b does not hear it
    kvB.reconnect(); // the gap: b drops its memo and its copies, and reads the tombstone
    expect(await b.gh.sessions.verify(token)).toBeNull();
    expect(await b.gh.principals.fromSessionToken(token)).toBeNull();
  });

  it('keeps serving a session it holds while the shared store is down, for a bounded time', async () => {
    const { token } = await a.gh.sessions.create(userId);
    expect(await b.gh.sessions.verify(token)).not.toBeNull();
    kvB.fail();
    clock += 2 * MINUTE; // past the in-memory lease: b would ask the store, which is down
    expect((await b.gh.sessions.verify(token))?.userId).toBe(userId);
    clock += STALE_GRACE_MS;
    await expect(b.gh.sessions.verify(token)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    kvB.restore();
    expect((await b.gh.sessions.verify(token))?.userId).toBe(userId);
  });
});
