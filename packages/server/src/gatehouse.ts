// createGatehouse wires the subsystems into one instance. Nothing here is global: a test
// builds as many independent instances as it likes, or several that share stores (as
// instances behind one load balancer share Postgres and Redis).

import { join } from 'node:path';
import { type Access, createAccess } from './access/access.ts';
import { type Accounts, createAccounts } from './accounts/accounts.ts';
import { createOneTimeTokens, type OneTimeTokens } from './accounts/one-time-tokens.ts';
import { type ApiTokens, createApiTokens } from './apitokens/apitokens.ts';
import { type Audit, createAudit } from './audit/audit.ts';
import { type Clients, createClients } from './clients/clients.ts';
import type { Config } from './config/config.ts';
import { createLogger, type Logger } from './config/logger.ts';
import { type Argon2Params, createPasswordHasher, type HashingLimits } from './crypto/passwords.ts';
import { loadSecretKey, type SecretKey } from './crypto/secret-key.ts';
import { createSigningKeys, type SigningKeys } from './crypto/signing-keys.ts';
import {
  type AccessDecider,
  createForwardAuth,
  type ForwardAuth,
} from './forward-auth/forward-auth.ts';
import {
  compileRules,
  type ExpressionValidator,
  validateAccessExpression,
} from './forward-auth/rules.ts';
import type { ApiLimits } from './http/api/rate-limit.ts';
import { createAccessTokenVerifier } from './oidc/access-tokens.ts';
import { grantRevoked } from './oidc/adapter.ts';
import { createOidc, type Oidc } from './oidc/oidc.ts';
import { type ClaimSteps, createPrincipals, type Principals } from './principals/principals.ts';
import { createSessions, type Sessions } from './sessions/sessions.ts';
import { type Database, openPglite, openPostgres } from './store/db.ts';
import { createEventBus, type EventBus } from './store/events.ts';
import type { Kv } from './store/kv.ts';
import { createMemoryKv } from './store/kv-memory.ts';
import { createThrottle, type Throttle, type ThrottleConfig } from './throttle/throttle.ts';

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
      ? // ioredis is imported only when Redis is configured.
        await (await import('./store/kv-redis.ts')).createRedisKv({
          url: config.redisUrl,
          prefix: config.redisPrefix,
        })
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
  /** How many password hashes run at once and wait (default: one fewer than the cores, 64). */
  passwordHashing?: Partial<HashingLimits>;
  throttle?: Partial<ThrottleConfig>;
  /** Rate limits of the JSON API (per token, per address). */
  apiLimits?: Partial<ApiLimits>;
  now?: () => number;
  /** The secret key to use instead of the configured one (tests). */
  secretKey?: SecretKey;
  /**
   * Forward auth's collaborators, in place of the ones built here (tests): the access
   * decisions, the bearer-token check (principals' `bearerClaim`), the rule validator.
   */
  forwardAuth?: {
    access?: AccessDecider;
    bearerClaim?: ClaimSteps['bearerClaim'];
    validateExpression?: ExpressionValidator;
  };
}

/**
 * One Gatehouse instance: its settings, its stores, and the services every edge (the web app,
 * the CLI, tests) calls. Each service is built by its subsystem's factory from explicit
 * dependencies; nothing here is global.
 */
export interface Gatehouse {
  readonly config: Config;
  readonly logger: Logger;
  /** The database and the key-value store; closed by `close()` only if this instance opened them. */
  readonly stores: Stores;
  /** Changes every instance hears (revocations, access and client changes). */
  readonly events: EventBus;
  /** Members: create, find, profile, passwords, permissions given directly. */
  readonly accounts: Accounts;
  /** Sign-in sessions: create, verify (sliding expiry), revoke everywhere. */
  readonly sessions: Sessions;
  /** Set-password links. */
  readonly oneTimeTokens: OneTimeTokens;
  /** Personal API tokens and their scopes. */
  readonly apiTokens: ApiTokens;
  /** Rate limits of the JSON API (per token, per address). */
  readonly apiLimits: Partial<ApiLimits>;
  /** Counters for everything that guesses (passwords, codes). */
  readonly throttle: Throttle;
  readonly audit: Audit;
  /** Groups, memberships, roles and grants, invitations, and access decisions. */
  readonly access: Access;
  readonly secretKey: SecretKey;
  readonly signingKeys: SigningKeys;
  /** The OIDC client registry. */
  readonly clients: Clients;
  /** Who is asking: a session cookie or a bearer token, as one principal. */
  readonly principals: Principals;
  /** The clock every service reads (tests set it). */
  readonly now: () => number;
  /** Whether a member passes a client's access rule (null: every member). */
  mayUse(userId: string, rule: string | null): Promise<boolean>;
  /** The OpenID Provider; started by the web app that mounts it. */
  readonly oidc: Oidc;
  /** Forward-auth decisions for reverse proxies. */
  readonly forwardAuth: ForwardAuth;
  /** Whether the database and the store both answer. */
  ready(): Promise<{ database: boolean; store: boolean }>;
  /** Stops timers and listeners; closes the stores it opened. Safe to call twice. */
  close(): Promise<void>;
}

/** Builds an instance: opens (or takes) the stores, applies migrations and starts listening for events. */
export async function createGatehouse(
  config: Config,
  options: GatehouseOptions = {},
): Promise<Gatehouse> {
  // A bad rule stops the start before any store is opened.
  compileRules(
    config.forwardAuth,
    options.forwardAuth?.validateExpression ?? validateAccessExpression,
  );
  const ownsStores = !options.stores;
  const stores = options.stores ?? (await openStores(config));
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const now = options.now ?? Date.now;
  const { database, kv } = stores;
  const db = database.db;
  const onError = (err: unknown) => logger.error({ err }, 'background task failed');

  await database.migrate();

  const events = createEventBus({ kv, onError });
  const hasher = createPasswordHasher(options.passwordParams, options.passwordHashing);
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
  const clients = createClients({
    db,
    events,
    audit,
    now,
    validateAccessRule: validateAccessExpression,
  });
  const verifyAccessToken = createAccessTokenVerifier({
    signingKeys,
    issuer: config.issuer,
    events,
    now,
  });
  // Who is asking, for the pages, the API, forward auth, the provider and introspection.
  const principals = createPrincipals({
    sessions,
    accounts,
    apiTokens,
    clients,
    access,
    accessTokens: {
      verify: verifyAccessToken,
      grantRevoked: (grantId) => grantRevoked(kv, grantId),
    },
  });
  const { bearerClaim, ...forwardAuthOverrides } = options.forwardAuth ?? {};
  const forwardAuth = createForwardAuth({
    config: config.forwardAuth,
    issuer: config.issuer,
    // Session cookies, then API tokens or JWT access tokens issued for the service's origin,
    // as Bearer or as the Basic password.
    principals: bearerClaim ? { ...principals, bearerClaim } : principals,
    events,
    now,
    access,
    validateExpression: validateAccessExpression,
    ...forwardAuthOverrides,
  });
  /** Whether a member passes a client's access rule (null: every member). */
  const mayUse = async (userId: string, rule: string | null): Promise<boolean> =>
    rule === null || access.decide(userId, rule);
  // The OIDC provider's subsystem; the HTTP layer starts it when it mounts the provider.
  const oidc = createOidc({
    config,
    logger,
    now,
    db,
    kv,
    events,
    accounts,
    sessions,
    principals,
    clients,
    access,
    mayUse,
    audit,
    throttle,
    signingKeys,
    secretKey,
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
    principals,
    now,
    mayUse,
    oidc,
    forwardAuth,
    async ready(): Promise<{ database: boolean; store: boolean }> {
      const [d, s] = await Promise.all([database.ping(), kv.ping()]);
      return { database: d, store: s };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      oidc.close();
      sessions.stop();
      await events.stop();
      if (ownsStores) await Promise.allSettled([kv.close(), database.close()]);
    },
  };
}
