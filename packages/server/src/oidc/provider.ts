// The configuration of oidc-provider: Gatehouse's stores, accounts, keys, clients and one
// session. We configure the library and do not hand-write protocol handling; the places where
// Gatehouse's rules meet the provider each have their file: claims.ts (what a token says),
// consents.ts (when the member is asked), interactions.ts (one session), resources.ts
// (resource indicators), registration.ts (dynamic registration), lifetimes.ts (TTLs).
// Everything it needs is passed in (ProviderDeps, OidcHooks); oidc.ts builds it.

import Provider, {
  type AdapterPayload,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { Accounts } from '../accounts/accounts.ts';
import { type ClientRow, type Clients, RESPONSE_TYPES } from '../clients/clients.ts';
import { generateSecretToken } from '../crypto/secret-tokens.ts';
import type { KeySet } from '../crypto/signing-keys.ts';
import type { Db } from '../store/db.ts';
import type { Kv } from '../store/kv.ts';
import { createLru } from '../store/lru.ts';
import { adapterFactory } from './adapter.ts';
import { memberClaims, SCOPE_CLAIMS, scopeSet } from './claims.ts';
import { type Consents, loadExistingGrant } from './consents.ts';
import type { OidcHooks } from './hooks.ts';
import { interactionsPolicy, resumeGatehouseSession } from './interactions.ts';
import { providerSessionTtl, TTL } from './lifetimes.ts';
import { guardedFetch } from './outgoing.ts';
import {
  FETCHED_METADATA,
  SINGLE_USE,
  singleUseTokens,
  validateRegisteredMetadata,
} from './registration.ts';
import { resourceServerInfo } from './resources.ts';
import { OIDC_PREFIX, ROUTES } from './routes.ts';
import { answerTokenOnly, providerResponseTypes, tokenMarkerParam } from './token-response.ts';

export { KEY_RETENTION_MS, TTL } from './lifetimes.ts';
export { SINGLE_USE } from './registration.ts';
export { OIDC_PREFIX, ROUTES } from './routes.ts';

/** What the provider is built from: the services and settings it reads, nothing more. */
export interface ProviderDeps {
  issuer: string;
  /** The Gatehouse session's lifetimes, which the provider session follows. */
  sessionLifetimes: { idleTimeoutMs: number; absoluteTimeoutMs: number };
  db: Db;
  kv: Kv;
  clients: Clients;
  accounts: Pick<Accounts, 'findById'>;
  consents: Pick<Consents, 'find'>;
  /** Signs the provider's cookies (derived from the secret key). */
  cookieKey: string;
  now: () => number;
}

export function clientMetadata(row: ClientRow): Record<string, unknown> {
  return {
    ...row.metadata,
    client_id: row.id,
    // The hash stands in for the secret; compareClientSecret (below) checks presented secrets against it.
    ...(row.secretHash ? { client_secret: `sha256:${row.secretHash}` } : {}),
    client_name: row.name,
    ...(row.logoUri ? { logo_uri: row.logoUri } : {}),
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogoutRedirectUris,
    grant_types: row.grantTypes,
    // `token` alone runs as `id_token token` (token-response.ts).
    response_types: providerResponseTypes(row.responseTypes),
    token_endpoint_auth_method: row.tokenEndpointAuthMethod,
    scope: row.scopes.join(' '),
  };
}

export function createProvider(deps: ProviderDeps, keys: KeySet, hooks: OidcHooks) {
  const { issuer } = deps;
  // Client rows, for the adapter's metadata and for consent and access rules alike.
  const rows = createLru<ClientRow | null>({ max: 1000, ttlMs: 60_000 });
  async function clientRow(clientId: string) {
    let row = rows.get(clientId);
    if (row === undefined) {
      row = await deps.clients.row(clientId);
      rows.set(clientId, row);
    }
    return row;
  }
  const metadataOf = new WeakMap<ClientRow, AdapterPayload>();
  const adapters = adapterFactory({
    db: deps.db,
    kv: deps.kv,
    clients: deps.clients,
    clientRow,
    forgetClient: (clientId) => rows.delete(clientId),
    // Built once per cached row, not on every token request; frozen, as the provider only reads it.
    clientMetadata: (row: ClientRow) => {
      let metadata = metadataOf.get(row);
      if (!metadata) {
        metadata = Object.freeze(clientMetadata(row)) as AdapterPayload;
        metadataOf.set(row, metadata);
      }
      return metadata;
    },
    now: deps.now,
  });
  const registrations = singleUseTokens({ kv: deps.kv, now: deps.now });

  /**
   * Whether the member may still use what a client was given: their account is active and they
   * pass the client's access rule now. Checked when a code or refresh token is redeemed, at
   * userinfo and at introspection, not only at authorization: a member removed from the group
   * a client requires gets no new tokens, and the ones they hold stop answering.
   */
  async function mayStillUse(accountId: string, clientId: string): Promise<boolean> {
    const row = await clientRow(clientId);
    return row !== null && (await hooks.mayUse(accountId, row.accessRule));
  }

  async function findAccount(
    _ctx: KoaContextWithOIDC,
    sub: string,
    // The code, refresh token or access token being used, when there is one.
    token?: { clientId?: string },
  ) {
    const user = await deps.accounts.findById(sub);
    if (!user || user.disabled) return undefined;
    if (token?.clientId && !(await mayStillUse(user.id, token.clientId))) return undefined;
    return {
      accountId: user.id,
      claims: (_use: string, scope: string) =>
        memberClaims(user, scopeSet(scope), hooks, { permissions: false }),
    };
  }

  const configuration: Configuration = {
    adapter: adapters.factory as never,
    findAccount: findAccount as never,
    claims: SCOPE_CLAIMS,
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    responseTypes: [...providerResponseTypes(RESPONSE_TYPES), 'none'],
    extraParams: { ...tokenMarkerParam(clientRow), ...resumeGatehouseSession(hooks) },
    jwks: { keys: keys.provider as never },
    cookies: {
      keys: [deps.cookieKey],
      // Secure whenever the issuer is https (behind a TLS proxy the provider trusts
      // X-Forwarded-Proto); an http issuer (localhost) cannot carry Secure cookies through koa.
      long: { signed: true, secure: issuer.startsWith('https:'), sameSite: 'lax' },
      short: { signed: true, secure: issuer.startsWith('https:'), sameSite: 'lax' },
    },
    routes: ROUTES,
    ttl: { ...TTL, Session: providerSessionTtl(deps.sessionLifetimes, deps.now) },
    pkce: {
      // Public clients must use PKCE (S256 is the only method oidc-provider accepts); confidential
      // clients may.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      userinfoSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      introspectionSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      authorizationSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    conformIdTokenClaims: false,
    // Outgoing requests (back-channel logout, client JWKS URIs, sector identifiers) to a URL an
    // administrator registered may reach a private network, where a community's services often
    // live, so oidc-provider's refusal of special-use addresses is lifted for them. Any other
    // URL (registered through dynamic registration) is requested with Gatehouse's own guard,
    // which checks the address each connection is opened to (outgoing.ts). A 2.5 s timeout and
    // body limits apply to both.
    fetch: async (url, options) => {
      const { dispatcher: _ssrf, ...rest } = options as RequestInit & { dispatcher?: unknown };
      const href = url instanceof Request ? url.url : String(url);
      if (await deps.clients.registeredByAdmin(href)) return globalThis.fetch(href, rest);
      return guardedFetch(href, rest);
    },
    extraClientMetadata: {
      properties: [...FETCHED_METADATA, 'redirect_uris'],
      validator: validateRegisteredMetadata as never,
    },
    interactions: {
      policy: interactionsPolicy(hooks),
      url: (_ctx, interaction) => `${OIDC_PREFIX}/interaction/${interaction.uid}`,
    },
    rotateRefreshToken: true,
    // Refresh tokens for every client allowed the grant (not only with offline_access): the
    // service's lease is renewed with them, and they end with the Gatehouse session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect its own tokens, and any confidential client may introspect an
        // access token meant for it as a resource server.
        // A token whose member was disabled or no longer passes its client's access rule is
        // answered `active: false`.
        allowedPolicy: async (_ctx, client, token) => {
          if (client.clientAuthMethod === 'none') return false;
          if (token.clientId && token.clientId !== client.clientId) {
            const aud = (token as unknown as { aud?: string | string[] }).aud;
            const forIt = Array.isArray(aud)
              ? aud.includes(client.clientId)
              : aud === client.clientId;
            if (!forIt) return false;
          }
          const accountId = (token as unknown as { accountId?: string }).accountId;
          if (!accountId || !token.clientId) return true;
          const user = await deps.accounts.findById(accountId);
          if (!user || user.disabled || !(await mayStillUse(accountId, token.clientId)))
            return false;
          if (token.clientId !== client.clientId)
            await hooks.introspected?.(client.clientId, accountId);
          return true;
        },
      },
      revocation: {
        enabled: true,
        // A client revokes only the tokens issued to it.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, _out, err) => {
          const wait = hooks.userCodes.refusal(ctx.req);
          // A code that does not exist is a guess that missed (expired or used codes exist).
          if (err?.name === 'NotFoundError') await hooks.userCodes.missed(ctx.req);
          ctx.type = 'html';
          if (wait !== null) {
            const minutes = Math.max(1, Math.ceil(wait / 60));
            ctx.status = 429;
            ctx.set('retry-after', String(wait));
            ctx.body = hooks.pages.deviceInput(
              form,
              `Too many wrong codes were entered from your network. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
            );
            return;
          }
          ctx.body = hooks.pages.deviceInput(
            form,
            err ? 'That code is not valid or has expired. Check it and try again.' : null,
          );
        },
        userCodeConfirmSource: async (ctx, form, client, _info, userCode) => {
          ctx.type = 'html';
          ctx.body = hooks.pages.deviceConfirm(
            form,
            client.clientName ?? client.clientId,
            userCode,
          );
        },
        successSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = hooks.pages.deviceDone(ctx.oidc.client?.clientName ?? 'the device');
        },
      },
      pushedAuthorizationRequests: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = hooks.pages.logout(form, ctx.oidc.client?.clientName ?? null);
        },
        postLogoutSuccessSource: async (ctx) => {
          // Said from what is true now: "Stay signed in" ends only the asking service's session.
          const session = await hooks.sessionOf(ctx.get('cookie'));
          ctx.type = 'html';
          ctx.body = hooks.pages.loggedOut(ctx.oidc.client?.clientName ?? null, session !== null);
        },
      },
      registration: {
        enabled: true,
        initialAccessToken: true,
        policies: { [SINGLE_USE]: registrations.claim },
        idFactory: () => crypto.randomUUID(),
        secretFactory: () => generateSecretToken('cs').token,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? (undefined as never),
        useGrantedResource: () => true,
        // Only the resources the client's registration lists (resources.ts).
        getResourceServerInfo: resourceServerInfo(clientRow),
      },
    },
    // A JWT access token for a resource carries the claims of the scopes granted for it, and no
    // more: `openid` alone gives `sub` only.
    extraTokenClaims: async (_ctx, token) => {
      const t = token as unknown as {
        accountId?: string;
        resourceServer?: unknown;
        sid?: string;
        scope?: string;
        grantId?: string;
      };
      if (!t.accountId || !t.resourceServer) return undefined;
      const user = await deps.accounts.findById(t.accountId);
      if (!user) return undefined;
      const { sub: _sub, ...claims } = await memberClaims(user, scopeSet(t.scope), hooks, {
        permissions: true,
      });
      // `gid`: the grant, so forward auth refuses the token once the grant is revoked.
      return {
        ...claims,
        ...(t.sid ? { sid: t.sid } : {}),
        ...(t.grantId ? { gid: t.grantId } : {}),
      };
    },
    // Whether what the member allowed before is enough (consents.ts).
    loadExistingGrant: loadExistingGrant({
      consents: deps.consents,
      clientRow,
      mayUse: hooks.mayUse,
    }),
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = hooks.pages.error(out);
    },
  };

  const provider = new Provider(issuer, configuration);
  // The forwarded host, protocol and address the provider reads are always Gatehouse's own:
  // http/as-issuer.ts sets them from the issuer and its trusted-proxy rule.
  provider.proxy = true;
  provider.on('authorization.success', answerTokenOnly);
  provider.use(registrations.settle);
  // Secrets are stored hashed: compare a presented secret with the stored hash in constant time.
  const Client = provider.Client as unknown as {
    prototype: { compareClientSecret: (s: string) => Promise<boolean> };
  };
  Client.prototype.compareClientSecret = async function compareClientSecret(
    this: { clientId: string; clientSecret?: string },
    presented: string,
  ) {
    const stored = this.clientSecret;
    if (!stored?.startsWith('sha256:')) return false;
    return deps.clients.checkSecret({ id: this.clientId, secretHash: stored.slice(7) }, presented);
  };

  return { provider, adapters, clientRow, rows };
}
export type OidcProvider = ReturnType<typeof createProvider>;

/**
 * An initial access token for RFC 7591 registration, for the CLI and the admin API: issued
 * through a provider built from the stored keys (oidc.ts), so the token is one the live
 * servers accept.
 */
export function issueInitialAccessToken(
  from: { oidc: { issueInitialAccessToken(expiresInSeconds: number): Promise<string> } },
  expiresInSeconds: number,
): Promise<string> {
  return from.oidc.issueInitialAccessToken(expiresInSeconds);
}
