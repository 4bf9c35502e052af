// GET (any method) /auth/verify: the reverse proxy asks before passing a request on.
// 200 with Remote-User, Remote-Email, Remote-Name, Remote-Groups: let it through as this member;
// 401: not signed in; 403: signed in but not allowed; 400: the proxy's headers make no sense.
//
// Unauthenticated browser navigations: Traefik and Caddy pass our answer to the browser, so
// they get a 302 to the login page. NGINX's auth_request only understands 2xx, 401 and 403,
// so it gets the 401 with the login URL in Location, which its error_page turns into a 302.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ForwardAuth } from '../forward-auth/forward-auth.ts';
import { isNavigation, parseOriginalRequest } from '../forward-auth/original-request.ts';
import { type ProxyTrust, rawClientAddress } from './client-address.ts';
import { type CookiePolicy, readCookie } from './cookies.ts';
import { type FastPath, rawRoute } from './fast-path.ts';
import { CONTENT_SECURITY_POLICY } from './security.ts';

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
/** How many distinct original requests the parse memo keeps (oldest out first). */
const PARSE_MEMO_MAX = 4096;
/** The headers parseOriginalRequest reads besides the original-URL one. */
const FORWARDED_HEADERS = [
  'x-forwarded-host',
  'x-forwarded-uri',
  'x-forwarded-proto',
  'x-forwarded-method',
  'x-original-method',
] as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the session plugin does not look at this route's cookie (the route does). */
    session?: boolean;
  }
}

export interface ForwardAuthOptions {
  forwardAuth: ForwardAuth;
  cookies: CookiePolicy;
  safeToRedirect: (url: string) => boolean;
  trust: ProxyTrust;
  securityHeaders: Readonly<Record<string, string>>;
}

/** `?rule=<name>`: absent, or one well-formed name (null when it is neither). */
function ruleParam(url: string): { name: string | null } | null {
  const q = url.indexOf('?');
  if (q === -1) return { name: null };
  const values = new URLSearchParams(url.slice(q + 1)).getAll('rule');
  const [name] = values;
  if (name === undefined) return { name: null };
  if (values.length > 1 || !RULE_NAME.test(name)) return null;
  return { name };
}

/**
 * The check itself, on node's request and response: the fast path calls it before Fastify,
 * and the Fastify route (for inject() and unusual URLs) hands it the raw request too.
 */
export function forwardAuthHandler(opts: ForwardAuthOptions) {
  const { forwardAuth, cookies, safeToRedirect, trust } = opts;
  const base: OutgoingHttpHeaders = {
    ...opts.securityHeaders,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'cache-control': 'no-store',
    'content-type': TEXT,
  };

  function answer(
    res: ServerResponse,
    status: number,
    text: string,
    extra?: Readonly<Record<string, string>>,
  ) {
    res.writeHead(status, {
      ...base,
      ...extra,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  // The 200 carries only what the proxy reads: the identity headers, no-store, no body. No
  // proxy passes an auth answer's 2xx to the browser (NGINX's auth_request, Traefik's
  // ForwardAuth and Caddy's forward_auth copy the named Remote-* headers onto the request and
  // drop the rest), so the pages' security headers would be bytes and header checks on every
  // proxied request for nothing. Refusals, which a proxy may show, keep them. Merged once per
  // identity (one frozen object per member until an event drops it), not per request.
  const allowed = new WeakMap<object, OutgoingHttpHeaders>();
  const allowedPlain: OutgoingHttpHeaders = { 'cache-control': 'no-store', 'content-length': 0 };
  function allow(res: ServerResponse, extra: Readonly<Record<string, string>> | null) {
    let headers = extra ? allowed.get(extra) : allowedPlain;
    if (!headers) {
      headers = { 'cache-control': 'no-store', ...extra, 'content-length': 0 };
      allowed.set(extra!, headers);
    }
    res.writeHead(200, headers);
    res.end();
  }

  // parseOriginalRequest is a pure function of a few headers and the method, and a proxy asks
  // about the same pages again and again: its answers are kept by those inputs. Only when
  // every input is a single header or absent (a repeated header is refused, unmemoised); no
  // header value holds a newline, so the key is unambiguous.
  const parsedMemo = new Map<string, ReturnType<typeof parseOriginalRequest>>();
  function originalRequest(headers: IncomingMessage['headers'], method: string) {
    const urlHeader = forwardAuth.originalUrlHeader();
    let key = `${method}\n${urlHeader}`;
    for (const name of [urlHeader, ...FORWARDED_HEADERS]) {
      const v = headers[name];
      if (v === undefined) key += '\n-';
      else if (typeof v === 'string') key += `\n+${v}`;
      else return parseOriginalRequest(headers, method, urlHeader);
    }
    let parsed = parsedMemo.get(key);
    if (parsed === undefined) {
      parsed = parseOriginalRequest(headers, method, urlHeader);
      if (parsed.ok) Object.freeze(parsed.value.readings);
      Object.freeze(parsed.ok ? parsed.value : parsed);
      if (parsedMemo.size >= PARSE_MEMO_MAX) parsedMemo.delete(parsedMemo.keys().next().value!);
      parsedMemo.set(key, parsed);
    }
    return parsed;
  }

  return async function verify(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // NGINX keeps the original method (and drops the body); no body is ever read here (node
    // discards an unread body once the answer is sent, so the connection is kept).
    const headers = req.headers;
    const method = req.method ?? 'GET';
    const parsed = originalRequest(headers, method);
    if (!parsed.ok) return answer(res, 400, `Bad forward-auth request: ${parsed.message}.\n`);
    const rule = ruleParam(req.url ?? '');
    if (!rule) return answer(res, 400, 'Bad forward-auth request: ?rule= must name one rule.\n');
    const original = parsed.value;
    const verdict = await forwardAuth.verify({
      original,
      sessionToken: readCookie(headers.cookie, cookies.session),
      authorization: headers.authorization,
      ruleName: rule.name,
      // Read only if an API token is checked (its last use is noted), not for every cookie.
      get address() {
        return rawClientAddress(req, trust);
      },
    });
    // No body: NGINX keeps its connection to Gatehouse open only when an auth_request answer
    // has none (it never reads the body, so otherwise it must close the connection), and
    // opening one per proxied request costs several times the check itself.
    if (verdict.status === 200) return allow(res, verdict.headers);
    if (verdict.status === 403) return answer(res, 403, `Forbidden: ${verdict.reason}.\n`);

    const navigation = !verdict.credentialTried && isNavigation(headers, original.method);
    if (navigation && safeToRedirect(original.url)) {
      const location = forwardAuth.loginLocation(original.url);
      if (original.style === 'forwarded') return answer(res, 302, '', { location });
      return answer(res, 401, `Unauthorized: ${verdict.reason}.\n`, { location });
    }
    // Command-line and WebDAV clients send a token only after a challenge; browsers (which
    // all send Sec-Fetch-Mode) get no challenge, so they show no password dialog.
    const challenge = verdict.credentialTried || headers['sec-fetch-mode'] === undefined;
    return answer(
      res,
      401,
      `Unauthorized: ${verdict.reason}.\n`,
      challenge ? { 'www-authenticate': 'Basic realm="Gatehouse", charset="UTF-8"' } : undefined,
    );
  };
}

export async function forwardAuthRoutes(
  app: FastifyInstance,
  opts: ForwardAuthOptions & { fast: FastPath },
) {
  const handler = forwardAuthHandler(opts);
  opts.fast.add('/auth/verify', handler);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume();
    done(null, undefined);
  });
  app.all('/auth/verify', { config: { session: false } }, rawRoute(handler));
}
