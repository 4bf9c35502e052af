// The OIDC provider inside the Fastify app: oidc-provider answers everything under /oidc/
// (mounted as its documentation shows for frameworks without connect middleware: the raw
// request and response are handed over, the body left unread for the provider to parse).
// Gatehouse serves discovery and the JWKS itself, precomputed with an ETag, and runs the
// interactions (oidc-interactions.ts). The provider itself, its lifecycle and its rules are
// the oidc subsystem's (oidc/oidc.ts); this file gives it the pages and cookie reading only
// HTTP has (oidcSurface) and mounts its routes.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../gatehouse.ts';
import type { OidcSurface } from '../oidc/hooks.ts';
import type { Published } from '../oidc/oidc.ts';
import { OIDC_PREFIX, ROUTES } from '../oidc/routes.ts';
import { asIssuer } from './as-issuer.ts';
import { clientAddress, proxyTrust } from './client-address.ts';
import { type CookiePolicy, readCookie } from './cookies.ts';
import { HTTP_ERRORS } from './errors.ts';
import { answerFailure, type FastPath, rawRoute } from './fast-path.ts';
import { formField } from './form.ts';
import { oidcInteractionPages } from './oidc-interactions.ts';
import { CONTENT_SECURITY_POLICY, cspWithFormAction, securityHeaders } from './security.ts';
import {
  deviceConfirmPage,
  deviceDonePage,
  deviceInputPage,
  loggedOutPage,
  logoutConfirmPage,
} from './views/oidc-pages.ts';
import { messagePage } from './views/pages.ts';

/** What the provider needs from HTTP: its pages in Gatehouse's look, the session cookie. */
export function oidcSurface(gh: Gatehouse, cookies: CookiePolicy): OidcSurface {
  return {
    sessionToken: (cookieHeader) => readCookie(cookieHeader, cookies.session),
    failed: (res, err) => answerFailure(res, err, gh.logger),
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
      storeUnavailable: () => {
        const { title, message } = HTTP_ERRORS.STORE_UNAVAILABLE;
        const page = messagePage({
          title,
          message,
          user: null,
          csrfToken: '',
          status: 503,
          action: { href: '/', label: 'Go to the home page' },
        }).value;
        return { page, message };
      },
    },
  };
}

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

export async function oidcRoutes(app: FastifyInstance, opts: { gh: Gatehouse; fast: FastPath }) {
  const { gh, fast } = opts;
  const { oidc } = gh;
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
    const client = await oidc.authenticateClientEither(request.headers.authorization, {
      clientId: formField(request.body, 'client_id'),
      secret: formField(request.body, 'client_secret'),
    });
    if (!client) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="gatehouse"')
        .send({ error: 'invalid_client', error_description: 'client authentication failed' });
    }
    return oidc.introspectApiToken(client.clientId, token, { address: clientAddress(request) });
  });

  // The device page's code entry: an address that entered too many wrong codes is refused
  // before the provider looks the code up (oidc/device-codes.ts). The provider still answers,
  // asked for no code, so the page comes back with a fresh form and the wait.
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

  await app.register(oidcInteractionPages, { gh });
}
