// The OIDC provider inside the Fastify app: oidc-provider answers everything under /oidc/
// (mounted as its documentation shows for frameworks without connect middleware: the raw
// request and response are handed over, the body left unread for the provider to parse).
// Gatehouse serves discovery and the JWKS itself, precomputed with an ETag, and runs the
// interactions: sign-in through the Gatehouse session and the consent page.

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import inject from 'light-my-request';
import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import { RESPONSE_TYPES } from '../clients/clients.ts';
import type { KeySet } from '../crypto/signing-keys.ts';
import type { Gatehouse } from '../gatehouse.ts';
import { backchannelLogout, createConnectedServices } from '../oidc/connected-services.ts';
import {
  createProvider,
  KEY_RETENTION_MS,
  OIDC_PREFIX,
  type OidcHooks,
  type OidcProvider,
  ROUTES,
} from '../oidc/provider.ts';
import { withTokenResponseType } from '../oidc/token-response.ts';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../store/unavailable.ts';
import { clientAddress, type ProxyTrust, proxyTrust, rawClientAddress } from './client-address.ts';
import { type CookiePolicy, readCookie } from './cookies.ts';
import { HTTP_ERRORS, HttpError } from './errors.ts';
import { answerFailure, type FastPath, rawRoute } from './fast-path.ts';
import { formField, sendPage } from './form.ts';
import { createUserCodeGuard } from './oidc-device.ts';
import {
  allowFormRedirects,
  CONTENT_SECURITY_POLICY,
  cspWithFormAction,
  securityHeaders,
} from './security.ts';
import { viewUser } from './view-user.ts';
import {
  consentPage,
  deviceConfirmPage,
  deviceDonePage,
  deviceInputPage,
  loggedOutPage,
  logoutConfirmPage,
} from './views/oidc-pages.ts';
import { messagePage } from './views/pages.ts';

export { KEY_RETENTION_MS };

interface Published {
  body: string;
  etag: string;
}

function publish(value: unknown): Published {
  const body = JSON.stringify(value);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

export interface OidcOptions {
  gh: Gatehouse;
  cookies: CookiePolicy;
  /** Group paths and permissions for claims; the access subsystem provides them. */
  groupsOf?: (userId: string) => Promise<string[]>;
  permissionsOf?: (userId: string) => Promise<string[]>;
  mayUse?: (userId: string, rule: string | null) => Promise<boolean>;
}

/**
 * Builds the provider from the current keys and rebuilds it when keys rotate (on any instance).
 * Returns the live state the routes read on every request.
 */
export async function createOidcState(opts: OidcOptions) {
  const { gh, cookies } = opts;
  const userCodes = createUserCodeGuard(gh.throttle);
  const hooks: OidcHooks = {
    groupsOf: opts.groupsOf ?? ((userId) => gh.access.groupsOf(userId)),
    permissionsOf: opts.permissionsOf ?? ((userId) => gh.access.permissionsOf(userId)),
    mayUse: opts.mayUse ?? gh.mayUse,
    introspected: (clientId, accountId) => connected.noteIntrospection(clientId, accountId),
    async sessionOf(cookieHeader) {
      const token = readCookie(cookieHeader, cookies.session);
      if (!token) return null;
      const session = await gh.sessions.verify(token);
      if (!session) return null;
      const user = await gh.accounts.findById(session.userId);
      if (!user || user.disabled) return null;
      return session;
    },
    userCodes,
    pages: {
      error: (out) =>
        messagePage({
          title: 'This sign-in cannot continue',
          message: `${out.error_description ?? 'The request was not valid.'} Go back to the service and try again.`,
          user: null,
          csrfToken: '',
          status: 400,
          action: { href: '/', label: 'Go to the home page' },
        }).value,
      logout: (form, clientName) => logoutConfirmPage(form, clientName).value,
      loggedOut: (clientName, stillSignedIn) => loggedOutPage(clientName, stillSignedIn).value,
      deviceInput: (form, error) => deviceInputPage(form, error).value,
      deviceConfirm: (form, name, code) => deviceConfirmPage(form, name, code).value,
      deviceDone: (name) => deviceDonePage(name).value,
    },
  };

  const state = {
    current: null as unknown as OidcProvider,
    /** The provider's request handler, built once per provider (Koa composes it per call). */
    handle: null as unknown as (req: IncomingMessage, res: ServerResponse) => void,
    discovery: null as unknown as Published,
    jwks: null as unknown as Published,
    keysVersion: '',
  };

  async function build(keys: KeySet) {
    const built = createProvider(gh, keys, hooks);
    wireProvider(built.provider);
    const issuer = new URL(gh.config.issuer);
    // Every request goes through the `token` response type's rewrite, whichever way it arrives.
    const handle = withTokenResponseType(
      built.provider.callback() as (req: IncomingMessage, res: ServerResponse) => void,
      {
        clientRow: built.clientRow,
        failed: (res, err) => answerFailure(res, err, gh.logger),
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

  function wireProvider(provider: Provider) {
    const storeDown = new WeakSet<object>();
    provider.on('server_error', (ctx, err) => {
      if (!isStoreUnavailable(err)) return gh.logger.error({ err }, 'OIDC provider error');
      // Expected while a store is down: one line, no stack; the answer becomes a 503 below.
      storeDown.add(ctx);
      gh.logger.warn({ reason: (err as Error).message }, 'store unavailable');
    });
    provider.use(async (koa, next) => {
      await next();
      if (storeDown.has(koa)) answerStoreUnavailable(koa);
      // Set by the provider for the requests it routed (its documented post-middleware use).
      const ctx = koa as typeof koa & Partial<KoaContextWithOIDC>;
      const route = ctx.oidc?.route;
      if (!route) return;
      if (route === 'end_session') await askBeforeLogout(ctx as KoaContextWithOIDC);
      else if (route === 'end_session_confirm')
        await endGatehouseSession(ctx as KoaContextWithOIDC);
    });
  }

  // A store outage inside the provider: its own answer is a 500 `server_error`. It becomes what
  // the rest of Gatehouse answers, a 503 with Retry-After: `temporarily_unavailable` (RFC 6749
  // §4.1.2.1) in JSON or in the redirect back to the client, and the try-again page for a browser.
  function answerStoreUnavailable(koa: {
    status: number;
    body: unknown;
    set: (k: string, v: string) => void;
    get: (k: string) => string;
    type: string;
    response: { get: (k: string) => string };
  }) {
    const location = koa.response.get('location');
    if (location && koa.status >= 300 && koa.status < 400) {
      koa.set('location', location.replace('error=server_error', 'error=temporarily_unavailable'));
      return;
    }
    koa.status = 503;
    koa.set('retry-after', String(STORE_RETRY_AFTER_SECONDS));
    const { title, message } = HTTP_ERRORS.STORE_UNAVAILABLE;
    if (typeof koa.body === 'string' && koa.type.includes('html')) {
      koa.body = messagePage({
        title,
        message,
        user: null,
        csrfToken: '',
        status: 503,
        action: { href: '/', label: 'Go to the home page' },
      }).value;
      return;
    }
    koa.body = { error: 'temporarily_unavailable', error_description: message };
  }

  // RP-initiated logout. The provider asks the member to confirm only when it has a session
  // of its own; without one (signed in at /login, or its session already ended) it signs out
  // at once, so any page could end the member's Gatehouse session by linking here. With a
  // Gatehouse session in the browser the member is asked the same question either way.
  async function askBeforeLogout(ctx: KoaContextWithOIDC) {
    if (ctx.status !== 200 || ctx.oidc.session?.accountId) return;
    const secret = ctx.oidc.session?.state?.secret;
    if (typeof secret !== 'string' || !(await hooks.sessionOf(ctx.get('cookie')))) return;
    // The form the provider renders for its own confirmation (actions/end_session.js): the
    // confirmation step checks this anti-forgery secret against the provider session.
    const action = ctx.oidc.urlFor('end_session_confirm');
    const form = `<form id="op.logoutForm" method="post" action="${action}"><input type="hidden" name="xsrf" value="${secret}"/></form>`;
    ctx.type = 'html';
    ctx.body = hooks.pages.logout(form, ctx.oidc.client?.clientName ?? null);
  }

  // "Sign out" (logout=yes) ends the Gatehouse session in that browser too, before the browser
  // is sent on, so the next page already sees it gone. "Stay signed in" signs the member out
  // of the asking service only, as the provider does, and leaves the Gatehouse session.
  async function endGatehouseSession(ctx: KoaContextWithOIDC) {
    if (ctx.status !== 303 || !ctx.oidc.params?.logout) return;
    const session = await hooks.sessionOf(ctx.get('cookie'));
    if (!session) return;
    await gh.sessions.revoke(session.id);
    await gh.audit.record({
      actorId: session.userId,
      action: 'session.sign_out',
      details: { via: 'oidc', ...(ctx.oidc.client ? { clientId: ctx.oidc.client.clientId } : {}) },
    });
  }

  /** Back-channel logout to every client of the provider session, then its tokens and grants. */
  async function endProviderSession(uid: string) {
    const { provider, adapters } = state.current;
    const session = await provider.Session.findByUid(uid);
    if (!session) return;
    const accountId = session.accountId;
    for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
      // Tokens first: a client acting on the logout token finds them already dead.
      if (authorization.grantId) await adapters.revokeGrant(authorization.grantId);
      if (accountId)
        await backchannelLogout(provider, gh.logger, clientId, accountId, authorization.sid);
    }
    await session.destroy();
    if (accountId) await gh.events.emit({ type: 'oidc.session_ended', userId: accountId });
  }

  const connected = createConnectedServices({
    db: gh.stores.database.db,
    events: gh.events,
    audit: gh.audit,
    logger: gh.logger,
    current: () => state.current,
    clients: gh.clients,
    kv: gh.stores.kv,
    mayUse: (userId, rule) => hooks.mayUse(userId, rule),
  });

  // The provider session of an ended Gatehouse session, ended too (with its grants, tokens and
  // back-channel logouts). While a store is down this cannot be done; it is retried every 2 s
  // until it is, so a sign-out made during an outage still ends the services' sessions.
  const unended = new Set<string>();
  let retryEnds: NodeJS.Timeout | null = null;
  async function endProviderSessionOf(sessionId: string) {
    try {
      const uid = await gh.stores.kv.get(`oidc:session-of:${sessionId}`);
      if (uid) await endProviderSession(uid);
      unended.delete(sessionId);
    } catch (err) {
      if (!isStoreUnavailable(err)) {
        unended.delete(sessionId);
        gh.logger.error({ err }, 'ending the provider session failed');
        return;
      }
      if (!unended.has(sessionId))
        gh.logger.warn({ reason: (err as Error).message }, 'provider session end deferred');
      unended.add(sessionId);
      retryEnds ??= setTimeout(() => {
        retryEnds = null;
        for (const id of [...unended]) void endProviderSessionOf(id);
      }, 2_000);
      retryEnds.unref();
    }
  }

  gh.events.on((event, local) => {
    if (event.type === 'keys.rotated') {
      reloadKeys().catch((err) => gh.logger.error({ err }, 'reloading signing keys failed'));
      return;
    }
    if (event.type === 'clients.changed') {
      state.current.rows.delete(event.clientId);
      // A tightened access rule ends the grants of members who no longer pass it (once).
      if (local)
        connected
          .revokeWhereRuleFails('*', [event.clientId])
          .catch((err) => gh.logger.error({ err }, 'revoking grants after a client change failed'));
      return;
    }
    // Work done once, by the instance where the session ended.
    if (!local) return;
    if (event.type === 'sessions.revoked' && event.replacedBy) {
      const { kv } = gh.stores;
      const to = event.replacedBy;
      for (const id of event.sessionIds) {
        kv.get(`oidc:session-of:${id}`)
          .then(async (uid) => {
            if (!uid) return;
            await kv.set(`oidc:session-of:${to}`, uid, gh.config.sessions.absoluteTimeoutMs);
            await kv.del(`oidc:session-of:${id}`);
          })
          .catch((err) => gh.logger.error({ err }, 'moving the provider session failed'));
      }
    } else if (event.type === 'sessions.revoked') {
      for (const id of event.sessionIds) void endProviderSessionOf(id);
    }
    if (event.type === 'access.changed') {
      connected
        .revokeWhereRuleFails(event.userIds)
        .catch((err) => gh.logger.error({ err }, 'revoking grants after an access change failed'));
    }
    if (event.type === 'user.changed') {
      gh.accounts
        .findById(event.userId)
        .then(async (user) => {
          if (user && !user.disabled) return;
          for (const s of await state.current.adapters.sessionsOf(event.userId)) {
            if (typeof s.uid === 'string') await endProviderSession(s.uid);
          }
        })
        .catch((err) =>
          gh.logger.error({ err }, "ending a disabled member's provider sessions failed"),
        );
    }
  });

  await gh.signingKeys.ensure();
  await build(await gh.signingKeys.load());

  async function reloadKeys() {
    const keys = await gh.signingKeys.load();
    if (keys.version !== state.keysVersion) await build(keys);
  }

  // Expired durable records go in the background; keys are re-read every minute, so a rotation
  // reaches an instance even without the shared store's event (embedded CLI, lost message).
  const purge = setInterval(
    () =>
      state.current.adapters
        .purgeExpired()
        .catch((err) => gh.logger.error({ err }, 'purge failed')),
    3_600_000,
  );
  const keyCheck = setInterval(
    () => reloadKeys().catch((err) => gh.logger.error({ err }, 'reloading signing keys failed')),
    60_000,
  );
  purge.unref();
  keyCheck.unref();

  return {
    state,
    hooks,
    userCodes,
    connected,
    endProviderSession,
    reloadKeys,
    close() {
      clearInterval(purge);
      clearInterval(keyCheck);
      if (retryEnds) clearTimeout(retryEnds);
    },
  };
}

export type OidcState = Awaited<ReturnType<typeof createOidcState>>;

/**
 * A service proving who it is with its OIDC client credentials (HTTP Basic, as at the token
 * endpoint): for the revocation event stream. Public clients have no secret and are refused.
 */
export async function authenticateClient(
  gh: Gatehouse,
  authorization: string | undefined,
): Promise<{ clientId: string } | null> {
  if (!authorization?.startsWith('Basic ') || authorization.length > 1024) return null;
  const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
  let clientId: string;
  let secret: string;
  try {
    clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    return null;
  }
  return authenticatePostedClient(gh, clientId, secret);
}

/** client_secret_post: the credentials in the form body. */
async function authenticatePostedClient(gh: Gatehouse, clientId: string, secret: string) {
  if (!clientId || !secret) return null;
  const row = await gh.clients.row(clientId);
  if (!row || !gh.clients.checkSecret(row, secret)) return null;
  return { clientId: row.id };
}

/**
 * The provider builds the URLs it emits (the device flow's verification_uri, redirects to the
 * interaction, form actions, registration_client_uri) from the request's host and protocol.
 * It is handed the issuer's instead, whatever Host or X-Forwarded-Host a client or a proxy
 * sent, and the client address Gatehouse resolved with its own trusted-proxy rule: so the
 * provider may trust the forwarded headers (provider.proxy), as they are only ever ours.
 */
function asIssuer(req: IncomingMessage, issuer: URL, trust: ProxyTrust) {
  const address = rawClientAddress(req, trust);
  req.headers.host = issuer.host;
  req.headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  req.headers['x-forwarded-for'] = address;
  delete req.headers['x-forwarded-host'];
  delete req.headers.forwarded;
}

/** Seconds since the epoch, as OIDC counts auth_time. */
const epoch = (ms: number) => Math.floor(ms / 1000);

/**
 * The provider's pages (logout confirmation, device code entry, errors, the form_post
 * auto-submit) send the member's browser on to a service, so their forms may lead anywhere;
 * `script-src` is there for oidc-provider to add the hash of its one inline script to.
 */
const PROVIDER_POLICY = `${cspWithFormAction(['https:', 'http:'])}; script-src 'self'`;

/** Endpoints only programs call, answered before Fastify (see fast-path.ts). */
const MACHINE_ENDPOINTS = [
  ROUTES.token,
  ROUTES.userinfo,
  ROUTES.revocation,
  ROUTES.pushed_authorization_request,
  ROUTES.device_authorization,
  ROUTES.registration,
];

export async function oidcRoutes(
  app: FastifyInstance,
  opts: { gh: Gatehouse; oidc: OidcState; fast: FastPath },
) {
  const { gh, oidc, fast } = opts;
  const { state } = oidc;
  const issuer = new URL(gh.config.issuer);
  const trust = proxyTrust(gh.config);
  const headers = securityHeaders(gh.config);
  const headerList = Object.entries(headers);
  // Discovery and the JWKS: fetched by services' libraries and by browsers' scripts.
  const publishedHeaders = {
    ...headers,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    // Short enough that a relying party sees the next key well before a rotation promotes it.
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
    'content-type': 'application/json; charset=utf-8',
  };

  function published(doc: () => Published) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const { body, etag } = doc();
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { ...publishedHeaders, etag });
        res.end();
        return;
      }
      res.writeHead(200, { ...publishedHeaders, etag, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
  }

  /** Everything the provider answers gets Gatehouse's security headers first. */
  function provider(req: IncomingMessage, res: ServerResponse) {
    asIssuer(req, issuer, trust);
    for (const [name, value] of headerList) res.setHeader(name, value);
    res.setHeader('content-security-policy', PROVIDER_POLICY);
    res.setHeader('cache-control', 'no-store');
    state.handle(req, res);
  }

  for (const [path, doc] of [
    ['/.well-known/openid-configuration', () => state.discovery],
    [`${OIDC_PREFIX}/jwks`, () => state.jwks],
  ] as const) {
    const handler = published(doc);
    fast.add(path, handler, ['GET', 'HEAD']);
    app.get(path, { config: { session: false } }, rawRoute(handler));
  }
  for (const path of MACHINE_ENDPOINTS) fast.add(path, provider);

  // Introspection (RFC 7662) also answers for Gatehouse API tokens, which the provider does not
  // know; every other token goes on to the provider with the body already parsed.
  app.post(ROUTES.introspection, async (request, reply) => {
    const token = formField(request.body, 'token');
    if (!token.startsWith('gth_api_')) {
      (request.raw as typeof request.raw & { body?: unknown }).body = request.body;
      return rawRoute(provider)(request, reply);
    }
    reply.header('cache-control', 'no-store');
    const basic = request.headers.authorization;
    const client =
      (await authenticateClient(gh, basic)) ??
      (basic
        ? null
        : await authenticatePostedClient(
            gh,
            formField(request.body, 'client_id'),
            formField(request.body, 'client_secret'),
          ));
    if (!client) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="gatehouse"')
        .send({ error: 'invalid_client', error_description: 'client authentication failed' });
    }
    const verified = await gh.apiTokens.verify(token, { address: clientAddress(request) });
    const user = verified ? await gh.accounts.findById(verified.userId) : null;
    if (!verified || !user || user.disabled) return { active: false };
    await oidc.connected.noteIntrospection(client.clientId, user.id);
    return {
      active: true,
      token_type: 'gatehouse_api_token',
      iss: gh.config.issuer,
      sub: user.id,
      username: user.username,
      preferred_username: user.username,
      name: user.name ?? user.username,
      email: user.email,
      ...(user.pictureUrl ? { picture: user.pictureUrl } : {}),
      scope: verified.scopes.join(' '),
      permissions: verified.scopes.filter((s) => s.includes(':') && !s.startsWith('account:')),
      groups: await oidc.hooks.groupsOf(user.id),
      ...(verified.expiresAt ? { exp: Math.floor(verified.expiresAt / 1000) } : {}),
    };
  });

  // The device page's code entry: an address that entered too many wrong codes is refused
  // before the provider looks the code up (oidc-device.ts). The provider still answers, asked
  // for no code, so the page comes back with a fresh form and the wait.
  app.post(ROUTES.code_verification, async (request, reply) => {
    const allowed = await oidc.userCodes.admit(request.raw, clientAddress(request));
    let body = request.body;
    if (!allowed && typeof body === 'object' && body !== null) {
      const { user_code: _withheld, ...rest } = body as Record<string, unknown>;
      body = rest;
    }
    (request.raw as typeof request.raw & { body?: unknown }).body = body;
    return rawRoute(provider)(request, reply);
  });

  // Everything else under /oidc/ is the provider's. The body is left for the provider to read.
  await app.register(async (mounted) => {
    mounted.removeAllContentTypeParsers();
    mounted.addContentTypeParser('*', (_request, _payload, done) => done(null));
    mounted.all(`${OIDC_PREFIX}/*`, { config: { session: false } }, rawRoute(provider));
  });

  /** The interaction the browser's cookie points at, or a page saying the link has expired. */
  async function interactionOf(request: FastifyRequest, reply: FastifyReply) {
    asIssuer(request.raw, issuer, trust);
    try {
      return await state.current.provider.interactionDetails(request.raw, reply.raw);
    } catch {
      throw new HttpError('BAD_REQUEST', {
        message:
          'This sign-in link has expired or was already used. Go back to the service and start again.',
      });
    }
  }

  await app.register(async (pages) => {
    pages.get<{ Params: { uid: string } }>(
      `${OIDC_PREFIX}/interaction/:uid`,
      async (request, reply) => {
        const { provider } = state.current;
        const details = await interactionOf(request, reply);
        if (details.uid !== request.params.uid)
          throw new HttpError('BAD_REQUEST', { message: 'This sign-in link does not match.' });
        const { prompt, params } = details;
        const user = request.user;
        const session = request.session;

        if (prompt.name === 'login') {
          // A fresh sign-in is needed for prompt=login, or when the session is older than max_age.
          // The time we sent the member to sign in again is kept (to the millisecond), so the
          // sign-in that follows satisfies it and a max_age of 0 does not loop.
          const maxAge = params.max_age === undefined ? null : Number(params.max_age);
          const wantsFresh =
            session !== null &&
            (prompt.reasons.includes('login_prompt') ||
              (maxAge !== null &&
                Number.isFinite(maxAge) &&
                gh.now() - session.createdAt > maxAge * 1000));
          const markerKey = `oidc:reauth:${details.uid}`;
          let tooOld = false;
          if (wantsFresh) {
            const marker = Number((await gh.stores.kv.get(markerKey)) ?? Number.NaN);
            tooOld = !(session.createdAt >= marker);
            if (tooOld) await gh.stores.kv.set(markerKey, String(gh.now()), 3_600_000);
          }
          if (!user || !session || tooOld) {
            const query = new URLSearchParams({ return_to: request.url });
            if (tooOld) query.set('prompt', 'login');
            if (typeof params.login_hint === 'string') query.set('login_hint', params.login_hint);
            return reply.redirect(`/login?${query}`, 303);
          }
          reply.hijack();
          return provider.interactionFinished(
            request.raw,
            reply.raw,
            { login: { accountId: user.id, ts: epoch(session.createdAt), amr: ['pwd'] } },
            { mergeWithLastSubmission: false },
          );
        }

        if (!user || user.id !== details.session?.accountId) {
          return reply.redirect(`/login?${new URLSearchParams({ return_to: request.url })}`, 303);
        }
        const clientId = String(params.client_id);
        const row = await state.current.clientRow(clientId);
        const missing = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
        const resources = Object.keys(prompt.details.missingResourceScopes ?? {});
        allowFormRedirects(reply);
        return sendPage(
          reply,
          consentPage({
            user: viewUser(user)!,
            csrfToken: request.csrfToken(),
            uid: details.uid,
            clientName: row?.name ?? 'A service',
            logoUri: row?.logoUri ?? null,
            scopes: missing.length
              ? missing
              : resources.length
                ? []
                : String(params.scope ?? 'openid').split(' '),
            resources,
          }),
        );
      },
    );

    pages.post<{ Params: { uid: string } }>(
      `${OIDC_PREFIX}/interaction/:uid/consent`,
      { preHandler: app.checkCsrf },
      async (request, reply) => {
        const { provider } = state.current;
        const details = await interactionOf(request, reply);
        const user = request.user;
        if (!user || details.prompt.name !== 'consent' || details.session?.accountId !== user.id) {
          throw new HttpError('BAD_REQUEST', {
            message: 'This consent request is not yours or has already been answered.',
          });
        }
        const decision = formField(request.body, 'decision');
        reply.hijack();
        if (decision !== 'allow') {
          return provider.interactionFinished(
            request.raw,
            reply.raw,
            { error: 'access_denied', error_description: 'The member did not allow access' },
            { mergeWithLastSubmission: false },
          );
        }
        const { params, prompt, grantId } = details;
        const clientId = String(params.client_id);
        const grant = grantId
          ? await provider.Grant.find(grantId)
          : new provider.Grant({ accountId: user.id, clientId });
        if (!grant)
          throw new HttpError('BAD_REQUEST', {
            message: 'This sign-in has expired. Go back to the service and start again.',
          });
        const missingScope = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
        if (missingScope.length) grant.addOIDCScope(missingScope.join(' '));
        const missingClaims = (prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
        if (missingClaims.length) grant.addOIDCClaims(missingClaims);
        const missingResource = (prompt.details.missingResourceScopes ?? {}) as Record<
          string,
          string[]
        >;
        for (const [indicator, scopes] of Object.entries(missingResource)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        const savedGrantId = await grant.save();
        // Remember the answer for next time (the union of what was ever allowed).
        const granted = String(grant.getOIDCScope() ?? '')
          .split(' ')
          .filter(Boolean);
        const { scopes, resources } = await state.current.consents.remember(user.id, clientId, {
          scopes: granted,
          resources: Object.keys(missingResource),
        });
        await gh.audit.record({
          actorId: user.id,
          action: 'oidc.consent',
          target: `client:${clientId}`,
          ip: clientAddress(request),
          details: { scopes, ...(resources.length ? { resources } : {}) },
        });
        return provider.interactionFinished(
          request.raw,
          reply.raw,
          { consent: { grantId: savedGrantId } },
          { mergeWithLastSubmission: true },
        );
      },
    );
  });
}
