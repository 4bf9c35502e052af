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

/**
 * One cookie from a Cookie header, for code that runs before Fastify's cookie parser: the
 * first of that name wins (as in the parser), and a value that is not valid percent-encoding
 * is returned as it came.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0 || part.slice(0, i).trim() !== name) continue;
    let value = part.slice(i + 1).trim();
    if (value.length > 1 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    if (!value.includes('%')) return value;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
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
