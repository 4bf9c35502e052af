// The database: one Postgres schema, reached through PGlite in-process (embedded mode) or a
// Postgres server. Both give the same Drizzle API, so no subsystem knows which it has.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { StoreUnavailableError } from './unavailable.ts';

// Each mode imports only its own driver: embedded mode never loads pg, Postgres mode never
// loads PGlite (measured together with ioredis: ≈ 5 MB of idle RSS).

// biome-ignore lint/suspicious/noExplicitAny: the query-result type differs between drivers; every subsystem uses the shared builder API
export type Db = PgDatabase<PgQueryResultHKT, Record<string, any>>;

export interface Database {
  readonly db: Db;
  readonly kind: 'pglite' | 'postgres';
  /** Applies pending migrations; safe when several instances start at once. */
  migrate(): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

// An arbitrary constant shared by every instance: whoever holds this advisory lock migrates,
// the others wait and then find nothing left to do.
const MIGRATION_LOCK_KEY = 0x6761_7465; // "gate"

export class DatabaseError extends Error {
  readonly code = 'DATABASE_UNREACHABLE';
  override name = 'DatabaseError';
}

/** The URL with any password removed, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparseable URL)';
  }
}

// PGlite is one single-user Postgres in this process's WebAssembly memory. Postgres's default
// shared_buffers (128 MB) is sized for a server with many backends; touched, it is resident
// memory of the Gatehouse process. 16 MB holds a community's whole working set (the data files
// stay in the OS page cache behind it): measured, 415 -> 192 MB RSS right after opening.
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/** PGlite: in memory when dataDir is null, else persisted under dataDir. */
export async function openPglite(dataDir: string | null): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const options = { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS] };
  const client = dataDir ? await PGlite.create(dataDir, options) : await PGlite.create(options);
  const db = drizzlePglite(client) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    // One process owns a PGlite directory, so there is no concurrent migrator to lock out.
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER }),
    async ping() {
      try {
        await client.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

// Every query is bounded, so a request answers within two seconds even when Postgres is down
// (refused at once), unreachable (connect timeout) or hung (query timeout). A query cut off is
// answered as StoreUnavailableError; its connection is dropped by the pool, never reused.
const CONNECT_TIMEOUT_MS = 1_000;
const QUERY_TIMEOUT_MS = 1_500;

// Errors that say "Postgres is not answering", not "this query is wrong": network errors,
// SQLSTATE class 08 (connection exception), shutdowns and refusals, and pg's own timeouts.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
]);
const UNREACHABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable)/;

function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08')))
    return true;
  // Node reports a refused connection to "localhost" as an AggregateError of one per address.
  if (error instanceof AggregateError) return error.errors.some(isUnreachable);
  return UNREACHABLE_MESSAGES.test(error.message);
}

function asUnavailable(url: string) {
  return (error: unknown): never => {
    if (!isUnreachable(error)) throw error;
    const reason =
      ((error as NodeJS.ErrnoException).code ?? (error as Error).message) || 'no answer';
    throw new StoreUnavailableError(
      'database',
      `Postgres at ${redactUrl(url)} did not answer: ${reason}`,
      { cause: error },
    );
  };
}

/** Makes the pool's promise-style query and connect (what Drizzle calls) report outages as one error. */
function reportOutages(pool: pg.Pool, url: string): void {
  const fail = asUnavailable(url);
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const result = query(...args);
    return result instanceof Promise ? result.catch(fail) : result;
  }) as typeof pool.query;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  pool.connect = ((...args: unknown[]) => {
    // pg-pool's own query() connects with a callback: leave that path alone.
    if (args.length > 0) return connect(...args);
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      const clientQuery = client.query.bind(client) as (...a: unknown[]) => unknown;
      client.query = ((...a: unknown[]) => {
        const result = clientQuery(...a);
        return result instanceof Promise ? result.catch(fail) : result;
      }) as typeof client.query;
      return client;
    }, fail);
  }) as typeof pool.connect;
}

export async function openPostgres(url: string, options: { max?: number } = {}): Promise<Database> {
  const [{ default: pg }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
  });
  reportOutages(pool, url);
  // A pool emits 'error' when an idle connection dies (a Postgres restart); queries then
  // reconnect, so this must not crash the process.
  pool.on('error', () => {});
  try {
    const probe = await pool.connect();
    probe.release();
  } catch (failure) {
    await pool.end().catch(() => {});
    const err = failure instanceof StoreUnavailableError ? failure.cause : failure;
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new DatabaseError(`cannot reach Postgres at ${redactUrl(url)}: ${reason}`);
  }
  const db = drizzlePg(pool) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    async migrate() {
      // Its own connection without the query timeout: waiting for another instance's migration
      // (the advisory lock) or a long migration is expected here.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      await client.connect().catch(asUnavailable(url));
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await migratePg(drizzlePg(client), { migrationsFolder: MIGRATIONS_FOLDER });
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        await client.end().catch(() => {});
      }
    },
    async ping() {
      try {
        await pool.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}
