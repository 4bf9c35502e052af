// The database against a Postgres this test freezes and stops itself: a query fails as
// STORE_UNAVAILABLE within its bound instead of waiting, and works again once the server is
// back. Runs once, in the embedded project.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openPostgres } from '../../src/store/db.ts';
import { isStoreUnavailable } from '../../src/store/unavailable.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { type OwnPostgres, startPostgres } from './processes.ts';

let dir: string;
let pg: OwnPostgres | null = null;
let database: Database;

beforeAll(async () => {
  if (storageMode() === 'postgres+redis') return;
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-postgres-'));
  chmodSync(dir, 0o711); // Postgres runs as its own user and must reach its directory
  pg = await startPostgres(dir);
  database = await openPostgres(pg.url);
});
afterAll(async () => {
  await database?.close().catch(() => {});
  pg?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** How long the query took to fail, and whether it failed as an outage. */
async function failing(text: string) {
  const started = performance.now();
  const error = await database.db.execute(sql.raw(text)).then(
    () => null,
    (err: unknown) => err,
  );
  return { ms: performance.now() - started, unavailable: isStoreUnavailable(error) };
}

describe.skipIf(storageMode() === 'postgres+redis')(
  'the database through an outage (own Postgres; runs in the embedded project)',
  () => {
    it('gives up on a Postgres that does not answer within its bounds, and recovers', async () => {
      await database.db.execute(sql`select 1`);
      pg!.pause();
      try {
        const stuck = await failing('select 1'); // on an open connection: the query timeout
        const connecting = await failing('select 2'); // a new connection: the connect timeout
        console.log(
          `a frozen Postgres is given up on after ${stuck.ms.toFixed(0)} ms (query), ${connecting.ms.toFixed(0)} ms (connect)`,
        );
        expect(stuck.unavailable).toBe(true);
        expect(connecting.unavailable).toBe(true);
      } finally {
        pg!.resume();
      }
      await database.db.execute(sql`select 3`);
      expect(await database.ping()).toBe(true);
    });

    it('refuses queries at once while Postgres is stopped, as an outage, not a bug', async () => {
      pg!.stop();
      try {
        const stopped = await failing('select 4');
        const again = await failing('select 5');
        console.log(
          `a stopped Postgres: ${stopped.ms.toFixed(0)} ms, then ${again.ms.toFixed(0)} ms`,
        );
        expect(stopped.unavailable).toBe(true);
        expect(again.unavailable).toBe(true);
        expect(await database.ping()).toBe(false);
      } finally {
        pg!.start();
      }
      await database.db.execute(sql`select 6`);
    });
  },
);
