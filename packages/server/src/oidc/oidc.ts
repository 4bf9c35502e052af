// The OIDC subsystem, built by createGatehouse from the services it needs. It owns the
// provider's lifecycle: built from the current signing keys when the HTTP layer starts it
// (start(), with the pages and cookie reading only HTTP has), rebuilt when keys rotate on any
// instance, reacting to sessions ending, members disabled and access or client rules changing,
// and purging expired records. The CLI, which mounts no provider, never starts it.
//
//   http/oidc*.ts ──▶ oidc.ts ──▶ provider.ts (configuration) ──▶ claims, consents,
//                                interactions, resources, registration, adapter
//                            ──▶ session-ends, session-link, connected-services

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import inject from 'light-my-request';
import type { Accounts } from '../accounts/accounts.ts';
import type { Actor, Audit } from '../audit/audit.ts';
import { type Clients, RESPONSE_TYPES } from '../clients/clients.ts';
import type { Logger } from '../config/logger.ts';
import type { SecretKey } from '../crypto/secret-key.ts';
import type { KeySet, SigningKeys } from '../crypto/signing-keys.ts';
import type { Principals } from '../principals/principals.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import type { Kv } from '../store/kv.ts';
import type { Throttle } from '../throttle/throttle.ts';
import { createApiTokenIntrospection } from './api-token-introspection.ts';
import { wireProvider } from './around-provider.ts';
import { createClientAuth } from './client-auth.ts';
import { createConnectedServices } from './connected-services.ts';
import { createConsents } from './consents.ts';
import { createUserCodeGuard } from './device-codes.ts';
import type { OidcHooks, OidcSurface, SessionRef } from './hooks.ts';
import { needsFreshSignIn } from './interactions.ts';
import { KEY_RETENTION_MS } from './lifetimes.ts';
import { createProvider, type OidcProvider, type ProviderDeps, SINGLE_USE } from './provider.ts';
import { ROUTES } from './routes.ts';
import { createSessionEnds } from './session-ends.ts';
import { createSessionLink } from './session-link.ts';
import { withTokenResponseType } from './token-response.ts';

/** A document served as is, with its ETag. */
export interface Published {
  body: string;
  etag: string;
}

function publish(value: unknown): Published {
  const body = JSON.stringify(value);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

export interface OidcDeps {
  config: {
    issuer: string;
    sessions: { idleTimeoutMs: number; absoluteTimeoutMs: number };
  };
  logger: Logger;
  now: () => number;
  db: Db;
  kv: Kv;
  events: EventBus;
  accounts: Pick<Accounts, 'findById'>;
  sessions: Pick<Sessions, 'verify' | 'revoke' | 'signOut'>;
  /** Who is asking: a browser's session cookie, an API token at introspection. */
  principals: Pick<Principals, 'fromSessionToken' | 'fromBearer'>;
  clients: Clients;
  access: {
    groupsOf(userId: string): Promise<string[]>;
    permissionsOf(userId: string): Promise<string[]>;
  };
  /** Whether a member passes a client's access rule (null: every member). */
  mayUse: (userId: string, rule: string | null) => Promise<boolean>;
  audit: Audit;
  /** Counts wrong device user codes per address. */
  throttle: Throttle;
  signingKeys: Pick<SigningKeys, 'ensure' | 'load' | 'rotate'>;
  secretKey: SecretKey;
}

/** Expired durable records go in the background. */
const PURGE_MS = 3_600_000;
/** Keys are re-read every minute, so a rotation reaches an instance even without the event. */
const KEY_CHECK_MS = 60_000;

export function createOidc(deps: OidcDeps) {
  const { logger, kv, config } = deps;
  const consents = createConsents({ db: deps.db, now: deps.now, audit: deps.audit });
  const link = createSessionLink({ kv, sessionLifetimeMs: config.sessions.absoluteTimeoutMs });
  const { principals } = deps;
  const clientAuth = createClientAuth(deps);
  const userCodes = createUserCodeGuard(deps.throttle);
  const providerDeps: ProviderDeps = {
    issuer: config.issuer,
    sessionLifetimes: config.sessions,
    db: deps.db,
    kv,
    clients: deps.clients,
    accounts: deps.accounts,
    consents,
    cookieKey: deps.secretKey.derive('oidc-cookies').toString('base64url'),
    now: deps.now,
  };

  const state = {
    current: null as unknown as OidcProvider,
    /** The provider's request handler, built once per provider (Koa composes it per call). */
    handle: null as unknown as (req: IncomingMessage, res: ServerResponse) => void,
    discovery: null as unknown as Published,
    jwks: null as unknown as Published,
    keysVersion: '',
  };
  const current = () => state.current;

  const connected = createConnectedServices({
    consents,
    events: deps.events,
    audit: deps.audit,
    logger,
    current,
    clients: deps.clients,
    kv,
    mayUse: (userId, rule) => deps.mayUse(userId, rule),
  });
  const ends = createSessionEnds({ current, link, events: deps.events, logger });

  /** The member signed out at a service's logout page, choosing to leave Gatehouse too. */
  async function signOut(session: SessionRef, clientId: string | null) {
    await deps.sessions.signOut(session, { via: 'oidc', details: clientId ? { clientId } : {} });
  }

  function hooksFor(surface: OidcSurface): OidcHooks {
    return {
      groupsOf: (userId) => deps.access.groupsOf(userId),
      permissionsOf: (userId) => deps.access.permissionsOf(userId),
      mayUse: deps.mayUse,
      introspected: (clientId, accountId) => connected.noteIntrospection(clientId, accountId),
      sessionOf: async (cookieHeader) =>
        (await principals.fromSessionToken(surface.sessionToken(cookieHeader)))?.session ?? null,
      linked: (sessionId, uid) => link.link(sessionId, uid),
      userCodes,
      pages: surface.pages,
    };
  }

  async function build(keys: KeySet, surface: OidcSurface, hooks: OidcHooks) {
    const built = createProvider(providerDeps, keys, hooks);
    wireProvider(built.provider, { logger, hooks, signOut });
    const issuer = new URL(config.issuer);
    // Every request goes through the `token` response type's rewrite, whichever way it arrives.
    const handle = withTokenResponseType(
      built.provider.callback() as (req: IncomingMessage, res: ServerResponse) => void,
      {
        clientRow: built.clientRow,
        failed: surface.failed,
        routes: {
          authorization: ROUTES.authorization,
          pushed: ROUTES.pushed_authorization_request,
        },
      },
    ) as (req: IncomingMessage, res: ServerResponse) => void;
    const res = await inject(handle as never, {
      method: 'GET',
      url: '/.well-known/openid-configuration',
      headers: { host: issuer.host, 'x-forwarded-proto': issuer.protocol.slice(0, -1) },
    });
    if (res.statusCode !== 200)
      throw new Error(`the provider's discovery answered ${res.statusCode}`);
    const discovery = JSON.parse(res.body) as Record<string, unknown>;
    // The provider cannot list `token`, which Gatehouse runs on top of it (token-response.ts).
    discovery.response_types_supported = [...RESPONSE_TYPES, 'none'];
    state.current = built;
    state.handle = handle;
    state.discovery = publish(discovery);
    state.jwks = publish(keys.published);
    state.keysVersion = keys.version;
  }

  let rebuild: ((keys: KeySet) => Promise<void>) | null = null;
  async function reloadKeys() {
    if (!rebuild) return;
    const keys = await deps.signingKeys.load();
    if (keys.version !== state.keysVersion) await rebuild(keys);
  }

  function react() {
    return deps.events.on((event, local) => {
      if (event.type === 'keys.rotated') {
        reloadKeys().catch((err) => logger.error({ err }, 'reloading signing keys failed'));
        return;
      }
      if (event.type === 'clients.changed') {
        state.current.rows.delete(event.clientId);
        // A tightened access rule ends the grants of members who no longer pass it (once).
        if (local)
          connected
            .revokeWhereRuleFails('*', [event.clientId])
            .catch((err) => logger.error({ err }, 'revoking grants after a client change failed'));
        return;
      }
      // Work done once, by the instance where the session ended.
      if (!local) return;
      if (event.type === 'sessions.revoked' && event.replacedBy) {
        const to = event.replacedBy;
        for (const id of event.sessionIds) {
          link
            .move(id, to)
            .catch((err) => logger.error({ err }, 'moving the provider session failed'));
        }
      } else if (event.type === 'sessions.revoked') {
        for (const id of event.sessionIds) void ends.endProviderSessionOf(id);
      }
      if (event.type === 'access.changed') {
        connected
          .revokeWhereRuleFails(event.userIds)
          .catch((err) => logger.error({ err }, 'revoking grants after an access change failed'));
      }
      if (event.type === 'user.changed') {
        deps.accounts
          .findById(event.userId)
          .then(async (user) => {
            if (user && !user.disabled) return;
            await ends.endSessionsOfAccount(event.userId);
          })
          .catch((err) =>
            logger.error({ err }, "ending a disabled member's provider sessions failed"),
          );
      }
    });
  }

  let started: Promise<void> | null = null;
  let closed = false;
  const stops: (() => void)[] = [];
  const introspectApiToken = createApiTokenIntrospection({
    issuer: config.issuer,
    principals,
    groupsOf: (userId) => deps.access.groupsOf(userId),
    noteIntrospection: (clientId, userId) => connected.noteIntrospection(clientId, userId),
  });

  return {
    /** The live provider and its published documents (set once started). */
    state,
    consents,
    connected,
    /** Device user codes: the HTTP route admits each entry with its client address first. */
    userCodes,
    /**
     * Builds the provider from the current keys and starts keeping it current: rebuilt when
     * keys rotate (on any instance), reacting to events, purging expired records. Once per
     * instance; later calls wait for the first.
     */
    start(surface: OidcSurface): Promise<void> {
      started ??= (async () => {
        const hooks = hooksFor(surface);
        rebuild = (keys) => build(keys, surface, hooks);
        stops.push(react());
        await deps.signingKeys.ensure();
        await rebuild(await deps.signingKeys.load());
        if (closed) return;
        const purge = setInterval(
          () =>
            state.current.adapters
              .purgeExpired()
              .catch((err) => logger.error({ err }, 'purge failed')),
          PURGE_MS,
        );
        const keyCheck = setInterval(
          () => reloadKeys().catch((err) => logger.error({ err }, 'reloading signing keys failed')),
          KEY_CHECK_MS,
        );
        purge.unref();
        keyCheck.unref();
        stops.push(
          () => clearInterval(purge),
          () => clearInterval(keyCheck),
        );
      })();
      return started;
    },
    /** Re-reads the signing keys and rebuilds the provider if they changed. */
    reloadKeys,
    endProviderSession: ends.endProviderSession,
    /** The login prompt with a Gatehouse session: whether the member must sign in again first. */
    needsFreshSignIn: (
      interaction: { uid: string; reasons: readonly string[]; maxAge: unknown },
      session: Pick<SessionRef, 'createdAt'>,
    ) => needsFreshSignIn({ kv, now: deps.now }, interaction, session),
    /** A client's credentials in HTTP Basic (the revocation event stream). */
    authenticateClient: clientAuth.basic,
    /** At introspection: HTTP Basic, or without an Authorization header the posted form. */
    authenticateClientEither: clientAuth.either,
    /** RFC 7662's answer for a Gatehouse API token, to an authenticated client. */
    introspectApiToken,
    /**
     * Promotes the published next signing key and retires the current one (published until
     * its tokens expire); every instance hears of it and reloads its keys.
     */
    async rotateKeys(actor: Actor): Promise<{ retired: string[]; activated: string[] }> {
      await deps.signingKeys.ensure();
      const result = await deps.signingKeys.rotate(KEY_RETENTION_MS);
      await deps.events.emit({ type: 'keys.rotated' });
      await deps.audit.act(actor, 'keys.rotate', null, result);
      return result;
    },
    /**
     * An initial access token for RFC 7591 registration (the CLI, the admin API): issued
     * through a provider built from the stored keys, so it is one the live servers accept.
     */
    async issueInitialAccessToken(expiresInSeconds: number): Promise<string> {
      await deps.signingKeys.ensure();
      const none = async () => [] as string[];
      const page = () => '';
      const { provider } = createProvider(providerDeps, await deps.signingKeys.load(), {
        groupsOf: none,
        permissionsOf: none,
        mayUse: async () => false,
        sessionOf: async () => null,
        userCodes: { refusal: () => null, missed: async () => {} },
        pages: {
          error: page,
          logout: page,
          loggedOut: page,
          deviceInput: page,
          deviceConfirm: page,
          deviceDone: page,
          storeUnavailable: () => ({ page: '', message: '' }),
        },
      });
      const token = new provider.InitialAccessToken({
        expiresIn: expiresInSeconds,
        policies: [SINGLE_USE],
      } as never);
      return token.save();
    },
    close() {
      closed = true;
      for (const stop of stops.splice(0)) stop();
      ends.close();
    },
  };
}

export type Oidc = ReturnType<typeof createOidc>;
