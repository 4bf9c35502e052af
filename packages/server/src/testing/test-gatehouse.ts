// One helper builds a test instance for every suite, on the embedded stores (PGlite in
// memory, in-memory key-value) or, when GATEHOUSE_TEST_DATABASE_URL and
// GATEHOUSE_TEST_REDIS_URL are set, on a real Postgres and Redis. Each call gets its own
// database and key prefix, and close() removes them, so files run in parallel and leave
// nothing behind.

import { Writable } from 'node:stream';
import pg from 'pg';
import { type Config, makeConfig } from '../config/config.ts';
import { createLogger } from '../config/logger.ts';
import { createGatehouse, type GatehouseOptions, type Stores } from '../gatehouse.ts';
import { buildApp } from '../http/app.ts';
import { openPglite, openPostgres } from '../store/db.ts';
import { createMemoryKv } from '../store/kv-memory.ts';
import { createRedisKv, deleteKeysWithPrefix } from '../store/kv-redis.ts';

/** Fast argon2 parameters for tests that do not measure hashing itself. */
export const TEST_PASSWORD_PARAMS = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** Every test instance shares one secret key, so instances sharing stores read each other's keys. */
export const TEST_SECRET_KEY = 'gatehouse-test-secret-key-0123456789abcdef';

export const testDatabaseUrl = () => process.env.GATEHOUSE_TEST_DATABASE_URL || null;
export const testRedisUrl = () => process.env.GATEHOUSE_TEST_REDIS_URL || null;
export const storageMode = () => (testDatabaseUrl() ? 'postgres+redis' : 'pglite+memory');

function randomName(prefix: string) {
  return `${prefix}_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
}

export interface TestStores extends Stores {
  databaseUrl: string | null;
  redisPrefix: string;
  /** Closes the stores and drops what they created. */
  destroy(): Promise<void>;
}

/** A fresh database (a new Postgres database, or an in-memory PGlite) and key prefix. */
export async function createTestStores(): Promise<TestStores> {
  const serverUrl = testDatabaseUrl();
  const redisUrl = testRedisUrl();
  const redisPrefix = `${randomName('ghtest')}:`;
  let databaseUrl: string | null = null;
  let dropDatabase = async () => {};
  if (serverUrl) {
    const name = randomName('gh_test');
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    databaseUrl = u.href;
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  const database = databaseUrl
    ? await openPostgres(databaseUrl, { max: 5 })
    : await openPglite(null);
  const kv = redisUrl
    ? await createRedisKv({ url: redisUrl, prefix: redisPrefix })
    : createMemoryKv({ prefix: redisPrefix });
  return {
    database,
    kv,
    databaseUrl,
    redisPrefix,
    async destroy() {
      await Promise.allSettled([kv.close(), database.close()]);
      await dropDatabase();
      if (redisUrl) await deleteKeysWithPrefix(redisUrl, redisPrefix);
    },
  };
}

/** Collects log lines, for tests that check what reaches the logs. */
export function createLogCapture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination, text: () => lines.join('\n') };
}

export interface TestGatehouseOptions extends Omit<GatehouseOptions, 'stores'> {
  overrides?: Partial<Config>;
  /** Share stores with another test instance (two instances behind one load balancer). */
  stores?: TestStores;
}

export async function createTestGatehouse(options: TestGatehouseOptions = {}) {
  const ownStores = !options.stores;
  const stores = options.stores ?? (await createTestStores());
  const config = makeConfig({
    logLevel: 'silent',
    secretKey: TEST_SECRET_KEY,
    ...options.overrides,
  });
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const gh = await createGatehouse(config, {
    passwordParams: TEST_PASSWORD_PARAMS,
    ...options,
    logger,
    stores,
  });
  const app = await buildApp(gh, { validateResponses: true });
  await app.ready();
  return {
    gh,
    app,
    stores,
    config,
    async close() {
      await app.close();
      await gh.close();
      if (ownStores) await stores.destroy();
    },
  };
}

export type TestGatehouse = Awaited<ReturnType<typeof createTestGatehouse>>;
