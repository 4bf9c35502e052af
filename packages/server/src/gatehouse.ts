// createGatehouse wires the subsystems into one instance. Nothing here is global: a test
// builds as many independent instances as it likes, or several that share stores (as
// instances behind one load balancer share Postgres and Redis).

import { join } from 'node:path';
import { parseExpression } from 'gatehouse-client/expression';
import { createAccess } from './access/access.ts';
import { createAccounts } from './accounts/accounts.ts';
import { createOneTimeTokens } from './accounts/one-time-tokens.ts';
import { createApiTokens } from './apitokens/apitokens.ts';
import { createAudit } from './audit/audit.ts';
import { allowsResource, createClients } from './clients/clients.ts';
import type { Config } from './config/config.ts';
import { createLogger, type Logger } from './config/logger.ts';
import { type Argon2Params, createPasswordHasher } from './crypto/passwords.ts';
import { loadSecretKey, type SecretKey } from './crypto/secret-key.ts';
import { createSigningKeys } from './crypto/signing-keys.ts';
import {
  type AccessDecider,
  type CredentialVerifier,
  createForwardAuth,
} from './forward-auth/forward-auth.ts';
import { compileRules, type ExpressionValidator } from './forward-auth/rules.ts';
import type { ApiLimits } from './http/api/rate-limit.ts';
import { createAccessTokenVerifier } from './oidc/access-tokens.ts';
import { grantRevoked } from './oidc/adapter.ts';
import { createSessions } from './sessions/sessions.ts';
import { type Database, openPglite, openPostgres } from './store/db.ts';
import { createEventBus } from './store/events.ts';
import type { Kv } from './store/kv.ts';
import { createMemoryKv } from './store/kv-memory.ts';
import { createRedisKv } from './store/kv-redis.ts';
import { createThrottle, type ThrottleConfig } from './throttle/throttle.ts';

/** Access rules (clients, forward auth) are expressions of the shared language; this checks one. */
function validateAccessRule(rule: string): void {
  parseExpression(rule);
}

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
  /** Rate limits of the JSON API (per token, per address). */
  apiLimits?: Partial<ApiLimits>;
  now?: () => number;
  /** The secret key to use instead of the configured one (tests). */
  secretKey?: SecretKey;
  /**
   * Forward auth's collaborators from other subsystems. Until the access-groups and API-token
   * subsystems are wired here, rules with `groups` stop the start and Authorization headers
   * are refused.
   */
  forwardAuth?: {
    access?: AccessDecider;
    verifyCredential?: CredentialVerifier;
    validateExpression?: ExpressionValidator;
  };
}

/** Builds an instance: opens (or takes) the stores, applies migrations and starts listening for events. */
export async function createGatehouse(config: Config, options: GatehouseOptions = {}) {
  // A bad rule stops the start before any store is opened.
  compileRules(config.forwardAuth, options.forwardAuth?.validateExpression ?? validateAccessRule);
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
  const audit = createAudit({ db, now, onError });
  const accounts = createAccounts({ db, hasher, events, audit, now });
  const sessions = createSessions({
    db,
    kv,
    events,
    audit,
    config: config.sessions,
    now,
    onError,
  });
  const oneTimeTokens = createOneTimeTokens({ db, audit, now });
  const throttle = createThrottle({ kv, config: options.throttle });
  const access = createAccess({ db, events, audit, now, onError, issuer: config.issuer });
  // A token's scopes are permissions the member holds: directly, through roles or groups.
  const apiTokens = createApiTokens({
    db,
    kv,
    events,
    audit,
    accounts,
    now,
    onError,
    permissionsOf: (userId) => access.permissionsOf(userId),
  });
  const secretKey = options.secretKey ?? loadSecretKey(config);
  const signingKeys = createSigningKeys({ db, secretKey, now });
  const clients = createClients({ db, events, audit, now, validateAccessRule });
  const verifyAccessToken = createAccessTokenVerifier({
    signingKeys,
    issuer: config.issuer,
    events,
    now,
  });
  const forwardAuth = createForwardAuth({
    config: config.forwardAuth,
    issuer: config.issuer,
    sessions,
    accounts,
    events,
    now,
    // API tokens, or JWT access tokens issued for this service's origin, as Bearer or as the
    // Basic password.
    verifyCredential: async (token, context) => {
      if (token.startsWith('gth_')) {
        const verified = await apiTokens.verify(token, context);
        return verified && { kind: 'api_token', userId: verified.userId, scopes: verified.scopes };
      }
      const claims = await verifyAccessToken(token, context.audience);
      if (typeof claims?.sub !== 'string' || typeof claims.client_id !== 'string') return null;
      // Issued to a client still allowed this service as a resource, whose access rule the
      // member still passes (a token minted before either changed is refused).
      const client = await clients.row(claims.client_id);
      if (!client || !allowsResource(client, context.audience)) return null;
      // Its grant still stands: not ended by a sign-out, a disconnect or an access change.
      if (typeof claims.gid === 'string' && (await grantRevoked(kv, claims.gid))) return null;
      const user = await accounts.findById(claims.sub);
      if (!user || user.disabled) return null;
      if (client.accessRule !== null && !(await access.decide(user.id, client.accessRule)))
        return null;
      return { kind: 'access_token', userId: user.id };
    },
    access,
    validateExpression: validateAccessRule,
    ...options.forwardAuth,
  });
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
    apiTokens,
    apiLimits: options.apiLimits ?? {},
    throttle,
    audit,
    access,
    secretKey,
    signingKeys,
    clients,
    now,
    /** Whether a member passes a client's access rule (null: every member). */
    async mayUse(userId: string, rule: string | null): Promise<boolean> {
      return rule === null || access.decide(userId, rule);
    },
    forwardAuth,
    /** Database and store both answer. */
    async ready(): Promise<{ database: boolean; store: boolean }> {
      const [d, s] = await Promise.all([database.ping(), kv.ping()]);
      return { database: d, store: s };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      sessions.stop();
      await events.stop();
      if (ownsStores) await Promise.allSettled([kv.close(), database.close()]);
    },
  };
}

export type Gatehouse = Awaited<ReturnType<typeof createGatehouse>>;
