// Cookie names and attributes. Outside dev mode every cookie is Secure; without a cookie
// domain the session cookie takes the __Host- prefix, which browsers only accept when it is
// Secure, host-only and for path /, so no subdomain can plant or overwrite it.

import type { FastifyReply } from 'fastify';
import type { Config } from '../config/config.ts';

export interface CookiePolicy {
  session: string;
  csrf: string;
  secure: boolean;
  domain: string | undefined;
  sessionMaxAgeSeconds: number;
}

export function cookiePolicy(config: Config): CookiePolicy {
  const secure = !config.dev;
  const domain = config.cookieDomain ?? undefined;
  let session = 'gatehouse_session';
  if (secure) session = domain ? '__Secure-gatehouse_session' : '__Host-gatehouse_session';
  return {
    session,
    // The CSRF cookie stays host-only even with a cookie domain: no sibling host needs it.
    csrf: secure ? '__Host-gatehouse_csrf' : 'gatehouse_csrf',
    secure,
    domain,
    sessionMaxAgeSeconds: Math.floor(config.sessions.absoluteTimeoutMs / 1000),
  };
}

export function setSessionCookie(reply: FastifyReply, policy: CookiePolicy, token: string) {
  reply.setCookie(policy.session, token, {
    path: '/',
    httpOnly: true,
    secure: policy.secure,
    sameSite: 'lax',
    domain: policy.domain,
    maxAge: policy.sessionMaxAgeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply, policy: CookiePolicy) {
  reply.clearCookie(policy.session, {
    path: '/',
    httpOnly: true,
    secure: policy.secure,
    sameSite: 'lax',
    domain: policy.domain,
  });
}
