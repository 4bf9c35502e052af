// A throwaway Postgres database and Redis key prefix for the distributed deployment,
// created for one run and removed afterwards (also on Ctrl-C).

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteKeysWithPrefix } from '../../packages/server/src/store/kv-redis.ts';
import { assertRunning, onCleanup } from './process.ts';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Credentials never reach the output. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}${u.pathname}`;
}

async function postgresAnswers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisAnswers(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    redis.disconnect();
  }
}

export type ServersChoice =
  | { ok: true; databaseUrl: string; redisUrl: string; source: 'env' | 'default' }
  | { ok: false; reason: string };

/**
 * BENCH_DATABASE_URL and BENCH_REDIS_URL when set (an unreachable server is then an error);
 * otherwise the local defaults if both answer; otherwise none, with the reason.
 */
export async function chooseServers(): Promise<ServersChoice> {
  const envDb = process.env.BENCH_DATABASE_URL;
  const envRedis = process.env.BENCH_REDIS_URL;
  const fromEnv = Boolean(envDb || envRedis);
  const databaseUrl = envDb || DEFAULT_DATABASE_URL;
  const redisUrl = envRedis || DEFAULT_REDIS_URL;
  const [dbError, redisError] = await Promise.all([
    postgresAnswers(databaseUrl),
    redisAnswers(redisUrl),
  ]);
  const problems = [
    dbError && `Postgres at ${describeUrl(databaseUrl)}: ${dbError}`,
    redisError && `Redis at ${describeUrl(redisUrl)}: ${redisError}`,
  ].filter(Boolean);
  if (problems.length === 0)
    return { ok: true, databaseUrl, redisUrl, source: fromEnv ? 'env' : 'default' };
  const reason = problems.join('; ');
  if (fromEnv) throw new Error(`BENCH_DATABASE_URL / BENCH_REDIS_URL not usable: ${reason}`);
  return { ok: false, reason };
}

export interface ScratchStores {
  databaseUrl: string;
  databaseName: string;
  redisUrl: string;
  redisPrefix: string;
  /** Drops the database and deletes the keys; safe to call twice. */
  remove(): Promise<void>;
}

/** Creates gh_bench_<random> on the server and picks the key prefix ghbench:<random>:. */
export async function createScratchStores(
  serverUrl: string,
  redisUrl: string,
): Promise<ScratchStores> {
  assertRunning();
  const suffix = randomBytes(5).toString('hex');
  const databaseName = `gh_bench_${suffix}`;
  const redisPrefix = `ghbench:${suffix}:`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${databaseName}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${databaseName}`;

  let removed = false;
  let unregister = () => {};
  const remove = async () => {
    if (removed) return;
    removed = true;
    unregister();
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(`drop database if exists ${databaseName} with (force)`);
    } finally {
      await c.end();
    }
    await deleteKeysWithPrefix(redisUrl, redisPrefix);
  };
  unregister = onCleanup(remove);
  return { databaseUrl: u.href, databaseName, redisUrl, redisPrefix, remove };
}
