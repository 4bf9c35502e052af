// The configuration of oidc-provider: Gatehouse's stores, accounts, keys, clients and one
// session. We configure the library and do not hand-write protocol handling; the few places
// where Gatehouse's rules meet the provider are marked.
//
// One session: the provider's login prompt gains a check that the Gatehouse session cookie
// belongs to the provider session's account. A member signed in to Gatehouse passes through
// the interaction without being asked anything; a member signed out of Gatehouse is asked to
// sign in again even if the provider still remembers them. A provider session with no account
// yet takes the Gatehouse session's member at the start of an authorization request, so
// prompt=none works for a member who signed in at /login (resumeGatehouseSession).

import type { IncomingMessage } from 'node:http';
import Provider, {
  type AdapterPayload,
  type Configuration,
  errors,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { User } from '../accounts/accounts.ts';
import { allowsResource, type ClientRow, RESPONSE_TYPES } from '../clients/clients.ts';
import { generateSecretToken } from '../crypto/secret-tokens.ts';
import type { KeySet } from '../crypto/signing-keys.ts';
import type { Gatehouse } from '../gatehouse.ts';
import { createLru } from '../store/lru.ts';
import { adapterFactory } from './adapter.ts';
import { createConsents } from './consents.ts';
import { guardedFetch, isSpecialUseHost } from './outgoing.ts';
import { answerTokenOnly, providerResponseTypes, tokenMarkerParam } from './token-response.ts';

export const OIDC_PREFIX = '/oidc';
export const ROUTES = {
  authorization: `${OIDC_PREFIX}/auth`,
  backchannel_authentication: `${OIDC_PREFIX}/backchannel`,
  code_verification: `${OIDC_PREFIX}/device`,
  device_authorization: `${OIDC_PREFIX}/device/auth`,
  end_session: `${OIDC_PREFIX}/session/end`,
  introspection: `${OIDC_PREFIX}/token/introspection`,
  jwks: `${OIDC_PREFIX}/jwks`,
  pushed_authorization_request: `${OIDC_PREFIX}/request`,
  registration: `${OIDC_PREFIX}/reg`,
  revocation: `${OIDC_PREFIX}/token/revocation`,
  token: `${OIDC_PREFIX}/token`,
  userinfo: `${OIDC_PREFIX}/me`,
} as const;

/** The name of the extraParams hook that carries a Gatehouse sign-in over (not a parameter). */
const SESSION_HOOK = 'gatehouse_session';

/** The registration policy every initial access token carries: it registers one client. */
export const SINGLE_USE = 'gatehouse:single-use';

/** Metadata naming URLs the provider itself requests (see outgoing.ts). */
const FETCHED_METADATA = ['jwks_uri', 'sector_identifier_uri', 'backchannel_logout_uri'];

const isLoopbackHost = (hostname: string) =>
  hostname === 'localhost' ||
  hostname === '[::1]' ||
  /^127\.\d+\.\d+\.\d+$/.test(hostname) ||
  hostname.endsWith('.localhost');

/**
 * Checks on metadata sent to dynamic registration (anyone with an initial access token), as
 * oidc-provider's extraClientMetadata validator: URLs Gatehouse will request must not name a
 * loopback, private or link-local address (names resolving to one are refused when fetched),
 * and a web client's redirect URIs use https except on loopback. An administrator's clients
 * are not checked here (clients.ts has their rules).
 */
function validateRegisteredMetadata(
  ctx: KoaContextWithOIDC | undefined,
  key: string,
  value: unknown,
  metadata: Record<string, unknown>,
) {
  const route = ctx?.oidc?.route;
  if (route !== 'registration' && route !== 'client_update') return;
  if (FETCHED_METADATA.includes(key) && typeof value === 'string') {
    const url = URL.parse(value);
    if (url && isSpecialUseHost(url.hostname)) {
      throw new errors.InvalidClientMetadata(
        `${key} must not point at a loopback, private, link-local or other special-use address (${url.hostname}); use a public host name`,
      );
    }
  }
  if (key === 'redirect_uris' && Array.isArray(value) && metadata.application_type !== 'native') {
    for (const uri of value) {
      const url = typeof uri === 'string' ? URL.parse(uri) : null;
      if (url?.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
        // A description starting "redirect_uris" makes this RFC 7591's invalid_redirect_uri.
        throw new errors.InvalidClientMetadata(
          `redirect_uris of a web client must use https, except on a loopback address (http://127.0.0.1, http://[::1], http://localhost): ${uri.slice(0, 100)}`,
        );
      }
    }
  }
}

/** Token lifetimes in seconds; documented in docs/integrators/oidc.md. */
export const TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  ClientCredentials: 3600,
  DeviceCode: 600,
  IdToken: 3600,
  Interaction: 3600,
  RefreshToken: 30 * 86_400,
  Grant: 30 * 86_400,
  PushedAuthorizationRequest: 60,
} as const;
/** The longest a token signed by a key can live: retired keys stay published this long. */
export const KEY_RETENTION_MS =
  Math.max(TTL.AccessToken, TTL.IdToken, TTL.ClientCredentials) * 1000 + 86_400_000;

const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'preferred_username', 'picture', 'updated_at'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
};

/** What a resource server may ask for: the member scopes, whose claims a JWT access token carries. */
const RESOURCE_SCOPES = 'openid profile email groups';

/**
 * The member's claims for the scopes granted, the one mapping ID tokens, userinfo and JWT
 * access tokens share: `profile` → name, username, picture; `email` → email and whether it is
 * verified; `groups` → group paths (and, in access tokens, `permissions`). `openid` alone says
 * only who the member is (`sub`).
 */
async function memberClaims(
  user: User,
  scopes: ReadonlySet<string>,
  hooks: Pick<OidcHooks, 'groupsOf' | 'permissionsOf'>,
  opts: { permissions: boolean },
): Promise<Record<string, unknown>> {
  return {
    sub: user.id,
    ...(scopes.has('profile')
      ? {
          name: user.name ?? user.username,
          preferred_username: user.username,
          ...(user.pictureUrl ? { picture: user.pictureUrl } : {}),
        }
      : {}),
    ...(scopes.has('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
    ...(scopes.has('groups') ? { groups: await hooks.groupsOf(user.id) } : {}),
    ...(scopes.has('groups') && opts.permissions
      ? { permissions: await hooks.permissionsOf(user.id) }
      : {}),
  };
}

const scopeSet = (scope: unknown) =>
  new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean) : []);

export interface OidcHooks {
  /** The member's effective group paths (the access-groups subsystem fills this). */
  groupsOf(userId: string): Promise<string[]>;
  /** The member's permission strings. */
  permissionsOf(userId: string): Promise<string[]>;
  /** Whether the member passes a client's access rule (null rule: every member). */
  mayUse(userId: string, rule: string | null): Promise<boolean>;
  /** A client introspected another client's token of this member (for the event stream). */
  introspected?(clientId: string, accountId: string): Promise<void>;
  /** The Gatehouse session behind a request, from its cookie. */
  sessionOf(
    cookieHeader: string | undefined,
  ): Promise<{ id: string; userId: string; createdAt: number } | null>;
  /**
   * Wrong device user codes, counted per client address by the HTTP layer (http/oidc-device.ts),
   * which knows the address: the wait in seconds when it refused the request (its code was not
   * looked up), and a note that a submitted code was not found.
   */
  userCodes: {
    refusal(req: IncomingMessage): number | null;
    missed(req: IncomingMessage): Promise<void>;
  };
  /** Pages the provider renders itself, in Gatehouse's look. */
  pages: {
    error(out: { error?: string; error_description?: string }): string;
    logout(form: string, clientName: string | null): string;
    /** After RP-initiated logout; `stillSignedIn`: the browser's Gatehouse session lives on. */
    loggedOut(clientName: string | null, stillSignedIn: boolean): string;
    deviceInput(form: string, error: string | null): string;
    deviceConfirm(form: string, clientName: string, userCode: string): string;
    deviceDone(clientName: string): string;
  };
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

/**
 * The provider session lives as long as the Gatehouse session it stands for can: until the
 * signed-in session's absolute lifetime ends (counted from the sign-in, which is the Gatehouse
 * session's start), so it is never gone while a Gatehouse session could still end it and
 * send the back-channel logouts. A session no one signed in to lasts the idle timeout.
 */
export function providerSessionTtl(
  lifetimes: { idleTimeoutMs: number; absoluteTimeoutMs: number },
  now: () => number,
) {
  return (_ctx: unknown, session: { loginTs?: number }) => {
    const nowS = Math.floor(now() / 1000);
    const until =
      typeof session.loginTs === 'number'
        ? session.loginTs + Math.ceil(lifetimes.absoluteTimeoutMs / 1000)
        : nowS + Math.ceil(lifetimes.idleTimeoutMs / 1000);
    return Math.max(1, until - nowS);
  };
}

export function createProvider(gh: Gatehouse, keys: KeySet, hooks: OidcHooks) {
  const { config } = gh;
  // Client rows, for the adapter's metadata and for consent and access rules alike.
  const rows = createLru<ClientRow | null>({ max: 1000, ttlMs: 60_000 });
  async function clientRow(clientId: string) {
    let row = rows.get(clientId);
    if (row === undefined) {
      row = await gh.clients.row(clientId);
      rows.set(clientId, row);
    }
    return row;
  }
  const consents = createConsents({ db: gh.stores.database.db, now: gh.now });
  const metadataOf = new WeakMap<ClientRow, AdapterPayload>();
  const adapters = adapterFactory({
    db: gh.stores.database.db,
    kv: gh.stores.kv,
    clients: gh.clients,
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
    now: gh.now,
  });
  // Remembers which provider session a Gatehouse session created, for back-channel logout.
  const recorded = createLru<true>({ max: 10_000, ttlMs: 3_600_000 });

  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  const login = policy.get('login') as InstanceType<typeof Prompt>;
  login.checks.add(
    new Check(
      'gatehouse_session',
      'The Gatehouse session does not belong to this account',
      async (ctx) => {
        const session = await hooks.sessionOf(ctx.get('cookie'));
        const accountId = ctx.oidc.session?.accountId;
        if (!session || session.userId !== accountId) return Check.REQUEST_PROMPT;
        const uid = ctx.oidc.session!.uid;
        const key = `${session.id}:${uid}`;
        if (!recorded.get(key)) {
          recorded.set(key, true);
          await gh.stores.kv.set(
            `oidc:session-of:${session.id}`,
            uid,
            config.sessions.absoluteTimeoutMs,
          );
        }
        return Check.NO_NEED_TO_PROMPT;
      },
    ),
  );

  // One session, without a page: an authorization request from a browser with a valid Gatehouse
  // session, while the provider session has no account (the member signed in at /login, or the
  // provider session ended on its own), signs that member in to the provider session before the
  // provider looks for the account. prompt=none then succeeds silently for a signed-in member
  // (consent permitting), and no interaction is needed just to carry the sign-in over.
  // oidc-provider's extraParams validators are its hook that runs on every authorization request
  // before the account and grant are loaded; this one has no parameter of its own.
  const resumeGatehouseSession = {
    async [SESSION_HOOK](ctx: KoaContextWithOIDC, value: string | undefined) {
      if (value !== undefined)
        throw new errors.InvalidRequest(`${SESSION_HOOK} is not a parameter clients send`);
      if (ctx.oidc.route !== 'authorization' || !ctx.oidc.session || ctx.oidc.session.accountId)
        return;
      const session = await hooks.sessionOf(ctx.get('cookie'));
      if (!session) return;
      ctx.oidc.session.loginAccount({
        accountId: session.userId,
        loginTs: Math.floor(session.createdAt / 1000),
        amr: ['pwd'],
      });
    },
  };

  // An initial access token registers one client. Its policy claims it before the client is
  // stored (atomically, so two registrations racing with one token cannot both pass); a
  // registration that fails gives the claim back, one that succeeds destroys the token.
  const claims = new WeakMap<object, string>();
  async function claimInitialAccessToken(ctx: KoaContextWithOIDC) {
    const iat = ctx.oidc.entities.InitialAccessToken;
    if (!iat) return;
    const key = `oidc:iat-used:${iat.jti}`;
    const left = typeof iat.exp === 'number' ? iat.exp * 1000 - gh.now() : 0;
    if (!(await gh.stores.kv.setIfAbsent(key, '1', Math.max(60_000, left)))) {
      throw Object.assign(new errors.InvalidToken(), {
        error_description:
          'this initial access token was already used; each one registers a single client, so ask the administrator for a new one',
      });
    }
    claims.set(ctx, key);
  }

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
    const user = await gh.accounts.findById(sub);
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
    extraParams: { ...tokenMarkerParam(clientRow), ...resumeGatehouseSession },
    jwks: { keys: keys.provider as never },
    cookies: {
      keys: [gh.secretKey.derive('oidc-cookies').toString('base64url')],
      // Secure whenever the issuer is https (behind a TLS proxy the provider trusts
      // X-Forwarded-Proto); an http issuer (localhost) cannot carry Secure cookies through koa.
      long: { signed: true, secure: config.issuer.startsWith('https:'), sameSite: 'lax' },
      short: { signed: true, secure: config.issuer.startsWith('https:'), sameSite: 'lax' },
    },
    routes: ROUTES,
    ttl: { ...TTL, Session: providerSessionTtl(config.sessions, gh.now) },
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
      if (await gh.clients.registeredByAdmin(href)) return globalThis.fetch(href, rest);
      return guardedFetch(href, rest);
    },
    extraClientMetadata: {
      properties: [...FETCHED_METADATA, 'redirect_uris'],
      validator: validateRegisteredMetadata as never,
    },
    interactions: {
      policy,
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
          const user = await gh.accounts.findById(accountId);
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
        policies: { [SINGLE_USE]: claimInitialAccessToken },
        idFactory: () => crypto.randomUUID(),
        secretFactory: () => generateSecretToken('cs').token,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? (undefined as never),
        useGrantedResource: () => true,
        // Only the resources the client's registration lists (an administrator sets them with
        // `gatehouse client update --resource`): a token for a service behind forward auth
        // lets its holder in as the member, so no other client may mint one.
        getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
          let url: URL;
          try {
            url = new URL(resourceIndicator);
          } catch {
            throw new errors.InvalidTarget('the resource indicator must be an absolute URL');
          }
          if (url.hash)
            throw new errors.InvalidTarget('the resource indicator must not contain a fragment');
          const row = await clientRow(client.clientId);
          if (!row || !allowsResource(row, resourceIndicator)) {
            throw new errors.InvalidTarget(
              'this client is not allowed tokens for that resource; an administrator lists the resources a client may ask for',
            );
          }
          return {
            scope: RESOURCE_SCOPES,
            audience: resourceIndicator,
            accessTokenTTL: TTL.AccessToken,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
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
      const user = await gh.accounts.findById(t.accountId);
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
    loadExistingGrant: async (ctx) => {
      const client = ctx.oidc.client!;
      const accountId = ctx.oidc.session!.accountId!;
      const row = await clientRow(client.clientId);
      if (!row || !(await hooks.mayUse(accountId, row.accessRule))) {
        throw new errors.AccessDenied(
          `Your account may not sign in to ${client.clientName ?? 'this service'}`,
        );
      }
      const grantId =
        ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const requested = String(ctx.oidc.params?.scope ?? 'openid').split(' ');
      // What the member allowed before (a first-party client needs no answer): scopes, and the
      // resources tokens may be issued for. A resource not allowed yet is asked about on the
      // consent page, which names it.
      let consented: { scopes: string[]; resources: string[] | null };
      if (row.firstParty) {
        consented = { scopes: requested, resources: null };
      } else {
        const stored = await consents.find(accountId, row.id);
        if (!stored) return undefined;
        consented = stored;
      }
      const scope = requested.filter((s) => consented.scopes.includes(s)).join(' ');
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope(scope);
      const resource = ctx.oidc.params?.resource;
      if (
        typeof resource === 'string' &&
        (consented.resources === null ||
          allowsResource({ resources: consented.resources }, resource))
      )
        grant.addResourceScope(resource, scope);
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = hooks.pages.error(out);
    },
  };

  const provider = new Provider(config.issuer, configuration);
  // The forwarded host, protocol and address the provider reads are always Gatehouse's own:
  // http/oidc.ts sets them from the issuer and its trusted-proxy rule (asIssuer).
  provider.proxy = true;
  provider.on('authorization.success', answerTokenOnly);
  provider.use(async (koa, next) => {
    await next();
    const oidc = (koa as typeof koa & Partial<KoaContextWithOIDC>).oidc;
    const iat = oidc?.route === 'registration' ? oidc.entities.InitialAccessToken : undefined;
    if (!iat) return;
    const claim = claims.get(koa);
    if (koa.status === 201) await iat.destroy();
    else if (claim) await gh.stores.kv.del(claim);
  });
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
    return gh.clients.checkSecret({ id: this.clientId, secretHash: stored.slice(7) }, presented);
  };

  return { provider, adapters, clientRow, rows, consents };
}

export type OidcProvider = ReturnType<typeof createProvider>;

/**
 * An initial access token for RFC 7591 registration, for the CLI and the admin API: issued
 * through a provider built from the stored keys, so the token is one the live servers accept.
 */
export async function issueInitialAccessToken(
  gh: Gatehouse,
  expiresInSeconds: number,
): Promise<string> {
  await gh.signingKeys.ensure();
  const none = async () => [] as string[];
  const page = () => '';
  const { provider } = createProvider(gh, await gh.signingKeys.load(), {
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
    },
  });
  const token = new provider.InitialAccessToken({
    expiresIn: expiresInSeconds,
    policies: [SINGLE_USE],
  } as never);
  return token.save();
}
