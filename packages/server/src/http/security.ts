// Security headers on every response, and CSRF protection for every form.
//
// CSRF uses a double-submit token: a random value in a host-only, SameSite=Strict cookie that
// each form echoes in a hidden field. A cross-site page can make the browser send the cookie
// but cannot read it to fill the field. As defence in depth a POST whose Origin is another
// site, or that the browser marks Sec-Fetch-Site: cross-site, is refused before the token is
// even compared.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/config.ts';
import type { CookiePolicy } from './cookies.ts';
import { HttpError } from './errors.ts';

/** The policy with more places a form may lead to (after its redirects), e.g. services. */
export function cspWithFormAction(sources: readonly string[]): string {
  if (sources.length === 0) return CONTENT_SECURITY_POLICY;
  return CONTENT_SECURITY_POLICY.replace(
    "form-action 'self'",
    `form-action 'self' ${sources.join(' ')}`,
  );
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self' data: https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const FORM_REDIRECTS_POLICY = cspWithFormAction(['https:', 'http:']);

/**
 * For pages whose form submission ends in a redirect to another site (sign-in and consent on the
 * way back to an OIDC client or a forward-auth-protected host): browsers apply form-action to
 * every redirect after the submission, so 'self' alone would stop the member at our door.
 */
export function allowFormRedirects(reply: FastifyReply) {
  reply.header('content-security-policy', FORM_REDIRECTS_POLICY);
}

/** The headers every response carries, whatever answers it (Fastify or the fast path). */
export function securityHeaders(config: Pick<Config, 'issuer'>): Readonly<Record<string, string>> {
  return Object.freeze({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
    ...(config.issuer.startsWith('https:')
      ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' }
      : {}),
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The CSRF token for forms rendered in this response; minted on first use. */
    csrfToken(): string;
    csrfMinted: string | null;
  }
}

const CSRF_FORMAT = /^[A-Za-z0-9_-]{43}$/;

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const securityPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; cookies: CookiePolicy }) => {
    const { config, cookies } = opts;
    const origin = new URL(config.issuer).origin;

    app.decorateRequest('csrfMinted', null);
    app.decorateRequest('csrfToken', function (this: FastifyRequest) {
      const existing = this.cookies[cookies.csrf];
      if (existing && CSRF_FORMAT.test(existing)) return existing;
      this.csrfMinted ??= randomBytes(32).toString('base64url');
      return this.csrfMinted;
    });

    const headers = securityHeaders(config);

    // One synchronous hook on every response (it runs on the hot path): the fixed headers, and
    // the CSRF cookie when this response's page minted a token.
    app.addHook('onSend', (request, reply, payload, done) => {
      // A page may widen the policy (the login page lets its form lead to the services).
      reply.headers(headers);
      if (!reply.hasHeader('content-security-policy')) {
        reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      }
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      if (request.csrfMinted) {
        reply.setCookie(cookies.csrf, request.csrfMinted, {
          path: '/',
          httpOnly: true,
          secure: cookies.secure,
          sameSite: 'strict',
        });
      }
      done(null, payload);
    });

    /** Refuses a state-changing form post that does not prove it came from our own page. */
    app.decorate('checkCsrf', async (request: FastifyRequest, _reply: FastifyReply) => {
      const site = request.headers['sec-fetch-site'];
      if (site === 'cross-site') throw new HttpError('CSRF_FAILED');
      const from = request.headers.origin;
      if (from && from !== 'null' && from !== origin && !config.dev)
        throw new HttpError('CSRF_FAILED');
      const cookie = request.cookies[cookies.csrf];
      const body = request.body as Record<string, unknown> | undefined;
      const field = body?._csrf ?? request.headers['x-csrf-token'];
      if (typeof cookie !== 'string' || typeof field !== 'string' || !sameBytes(cookie, field)) {
        throw new HttpError('CSRF_FAILED');
      }
    });
  },
);

declare module 'fastify' {
  interface FastifyInstance {
    checkCsrf(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}
