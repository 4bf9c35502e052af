// GET (any method) /auth/verify: the reverse proxy asks before passing a request on.
// 200 with Remote-User, Remote-Email, Remote-Name, Remote-Groups: let it through as this member;
// 401: not signed in; 403: signed in but not allowed; 400: the proxy's headers make no sense.
//
// Unauthenticated browser navigations: Traefik and Caddy pass our answer to the browser, so
// they get a 302 to the login page. NGINX's auth_request only understands 2xx, 401 and 403,
// so it gets the 401 with the login URL in Location, which its error_page turns into a 302.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardAuth } from '../forwardauth/forward-auth.ts';
import { isNavigation, parseOriginalRequest } from '../forwardauth/original-request.ts';
import type { CookiePolicy } from './cookies.ts';

const TEXT = 'text/plain; charset=utf-8';
/** WebDAV clients behind NGINX: its auth_request keeps the original method. */
export const WEBDAV_METHODS = [
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
];
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the session plugin does not look at this route's cookie (the route does). */
    session?: boolean;
  }
}

export async function forwardAuthRoutes(
  app: FastifyInstance,
  opts: {
    forwardAuth: ForwardAuth;
    cookies: CookiePolicy;
    safeToRedirect: (url: string) => boolean;
  },
) {
  const { forwardAuth, cookies, safeToRedirect } = opts;

  // NGINX keeps the original method (and drops the body); no body is ever read here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume();
    done(null, undefined);
  });

  function answer(reply: FastifyReply, status: number, text: string) {
    return reply.code(status).header('cache-control', 'no-store').type(TEXT).send(text);
  }

  async function handler(request: FastifyRequest, reply: FastifyReply) {
    const headers = request.headers;
    const parsed = parseOriginalRequest(headers, request.method, forwardAuth.originalUrlHeader());
    if (!parsed.ok) return answer(reply, 400, `Bad forward-auth request: ${parsed.message}.\n`);
    const query = request.query as Record<string, unknown>;
    const rule = query.rule;
    if (rule !== undefined && (typeof rule !== 'string' || !RULE_NAME.test(rule)))
      return answer(reply, 400, 'Bad forward-auth request: ?rule= must name one rule.\n');
    const original = parsed.value;
    const authorization = headers.authorization;
    const verdict = await forwardAuth.verify({
      original,
      sessionToken: request.cookies[cookies.session],
      authorization: typeof authorization === 'string' ? authorization : undefined,
      ruleName: typeof rule === 'string' ? rule : null,
      address: request.ip,
    });
    if (verdict.status === 200) {
      if (verdict.headers) reply.headers(verdict.headers);
      return answer(reply, 200, 'ok\n');
    }
    if (verdict.status === 403) return answer(reply, 403, `Forbidden: ${verdict.reason}.\n`);

    const navigation = !verdict.credentialTried && isNavigation(headers, original.method);
    if (navigation && safeToRedirect(original.url)) {
      const location = forwardAuth.loginLocation(original.url);
      if (original.style === 'forwarded') return reply.redirect(location, 302);
      reply.header('location', location);
    } else if (verdict.credentialTried || headers['sec-fetch-mode'] === undefined) {
      // Command-line and WebDAV clients send a token only after a challenge; browsers (which
      // all send Sec-Fetch-Mode) get no challenge, so they show no password dialog.
      reply.header('www-authenticate', 'Basic realm="Gatehouse", charset="UTF-8"');
    }
    return answer(reply, 401, `Unauthorized: ${verdict.reason}.\n`);
  }

  app.all('/auth/verify', { config: { session: false } }, handler);
}
