import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStores, storageMode, type TestStores } from '../testing/test-gatehouse.ts';
import { DatabaseError, openPglite, openPostgres, redactUrl } from './db.ts';

let stores: TestStores;
beforeAll(async () => {
  stores = await createTestStores();
});
afterAll(() => stores?.destroy());

describe(`database (${storageMode()})`, () => {
  it('migrates a fresh database, and again without harm', async () => {
    await stores.database.migrate();
    await stores.database.migrate();
    expect(await stores.database.ping()).toBe(true);
    const result = (await stores.database.db.execute(
      'select count(*)::int as n from users',
    )) as unknown as { rows: Array<{ n: number }> };
    expect(result.rows[0]!.n).toBe(0);
  });

  it('lets several instances migrate one Postgres database at once (advisory lock)', async () => {
    if (!stores.databaseUrl) {
      // Embedded: one process owns a PGlite directory (see data-dir.ts), so there is no race to test.
      expect(stores.database.kind).toBe('pglite');
      return;
    }
    const instances = await Promise.all(
      Array.from({ length: 4 }, () => openPostgres(stores.databaseUrl!, { max: 2 })),
    );
    try {
      await Promise.all(instances.map((d) => d.migrate()));
      const result = (await instances[0]!.db.execute(
        'select count(*)::int as n from drizzle.__drizzle_migrations',
      )) as unknown as {
        rows: Array<{ n: number }>;
      };
      expect(result.rows[0]!.n).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(instances.map((d) => d.close()));
    }
  });

  it('fails with a clear message, without the password, when Postgres cannot be reached', async () => {
    const attempt = openPostgres('postgres://gh:hunter2@127.0.0.1:1/gatehouse');
    await expect(attempt).rejects.toBeInstanceOf(DatabaseError);
    await expect(attempt).rejects.toThrow(
      'cannot reach Postgres at postgres://gh:***@127.0.0.1:1/gatehouse',
    );
    expect(redactUrl('postgres://u:secret@h/d')).not.toContain('secret');
  });

  it('opens an in-memory PGlite for tests and embedded use', async () => {
    const memory = await openPglite(null);
    try {
      await memory.migrate();
      expect(await memory.ping()).toBe(true);
    } finally {
      await memory.close();
    }
    expect(await memory.ping()).toBe(false);
  });
});
