// createGatehouse wires the subsystems into one instance. Nothing here is global: a test
// builds as many independent instances as it likes, or several that share stores (as
// instances behind one load balancer share Postgres and Redis).

import { join } from 'node:path';
import { createAccess } from './access/access.ts';
import { createAccounts } from './accounts/accounts.ts';
import { createOneTimeTokens } from './accounts/one-time-tokens.ts';
import { createAudit } from './audit/audit.ts';
import type { Config } from './config/config.ts';
import { createLogger, type Logger } from './config/logger.ts';
import { type Argon2Params, createPasswordHasher } from './crypto/passwords.ts';
import { createSessions } from './sessions/sessions.ts';
import { type Database, openPglite, openPostgres } from './store/db.ts';
import { createEventBus } from './store/events.ts';
import type { Kv } from './store/kv.ts';
import { createMemoryKv } from './store/kv-memory.ts';
import { createRedisKv } from './store/kv-redis.ts';
import { createThrottle, type ThrottleConfig } from './throttle/throttle.ts';

export interface Stores {
  database: Database;
  kv: Kv;
}

/** Opens the database and the shared store that the configuration names. */
export async function openStores(config: Config): Promise<Stores> {
  const database = config.databaseUrl
    ? await openPostgres(config.databaseUrl)
    : await openPglite(join(config.dataDir, 'pgdata'));
  try {
    const kv = config.redisUrl
      ? await createRedisKv({ url: config.redisUrl, prefix: config.redisPrefix })
      : createMemoryKv({ prefix: config.redisPrefix });
    return { database, kv };
  } catch (err) {
    await database.close();
    throw err;
  }
}

export interface GatehouseOptions {
  /** Stores to use instead of opening the configured ones; the caller closes them. */
  stores?: Stores;
  logger?: Logger;
  passwordParams?: Partial<Argon2Params>;
  throttle?: Partial<ThrottleConfig>;
  now?: () => number;
}

/** Builds an instance: opens (or takes) the stores, applies migrations and starts listening for events. */
export async function createGatehouse(config: Config, options: GatehouseOptions = {}) {
  const ownsStores = !options.stores;
  const stores = options.stores ?? (await openStores(config));
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const now = options.now ?? Date.now;
  const { database, kv } = stores;
  const db = database.db;
  const onError = (err: unknown) => logger.error({ err }, 'background task failed');

  await database.migrate();

  const events = createEventBus({ kv, onError });
  const hasher = createPasswordHasher(options.passwordParams);
  const accounts = createAccounts({ db, hasher, events, now });
  const sessions = createSessions({ db, kv, events, config: config.sessions, now, onError });
  const oneTimeTokens = createOneTimeTokens({ db, now });
  const throttle = createThrottle({ kv, config: options.throttle });
  const audit = createAudit({ db, now, onError });
  const access = createAccess({ db, events, audit, now, onError, issuer: config.issuer });
  await events.start();

  // Expired sessions are removed in the background; the check refuses them regardless.
  const purge = setInterval(() => sessions.purgeExpired().catch(onError), 60 * 60_000);
  purge.unref();

  let closed = false;
  return {
    config,
    logger,
    stores,
    events,
    accounts,
    sessions,
    oneTimeTokens,
    throttle,
    audit,
    access,
    /** Database and store both answer. */
    async ready(): Promise<{ database: boolean; store: boolean }> {
      const [d, s] = await Promise.all([database.ping(), kv.ping()]);
      return { database: d, store: s };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      await events.stop();
      if (ownsStores) await Promise.allSettled([kv.close(), database.close()]);
    },
  };
}

export type Gatehouse = Awaited<ReturnType<typeof createGatehouse>>;
