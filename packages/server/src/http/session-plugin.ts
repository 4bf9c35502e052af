// Who is asking: reads the session cookie on every request and decorates request.principal,
// request.session and request.user (null when signed out), from principals' answer. A disabled
// user's session counts as signed out.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { User } from '../accounts/accounts.ts';
import type { Gatehouse } from '../gatehouse.ts';
import type { Principal } from '../principals/principals.ts';
import type { Session } from '../sessions/sessions.ts';
import type { CookiePolicy } from './cookies.ts';
import { HttpError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: a session here; the JSON API puts a bearer token's principal here. */
    principal: Principal | null;
    session: Session | null;
    user: User | null;
  }
  interface FastifyInstance {
    /** preHandler for pages that need a signed-in member: redirects to /login. */
    requirePageUser(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** preHandler for JSON routes that need a signed-in member: 401. */
    requireApiUser(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

/** The path and query a signed-out visitor asked for, to come back to after signing in. */
export function loginRedirect(request: FastifyRequest): string {
  const target = request.url === '/' ? '' : `?return_to=${encodeURIComponent(request.url)}`;
  return `/login${target}`;
}

export const sessionPlugin = fp(
  async (app: FastifyInstance, opts: { gh: Gatehouse; cookies: CookiePolicy }) => {
    const { gh, cookies } = opts;
    app.decorateRequest('principal', null);
    app.decorateRequest('session', null);
    app.decorateRequest('user', null);

    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.session === false) return;
      const token = request.cookies[cookies.session];
      if (!token) return;
      const principal = await gh.principals.fromSessionToken(token);
      if (!principal) return;
      request.principal = principal;
      request.session = principal.session;
      request.user = principal.user;
    });

    app.decorate('requirePageUser', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.user) return reply.redirect(loginRedirect(request), 303);
    });

    app.decorate('requireApiUser', async (request: FastifyRequest) => {
      if (!request.user) throw new HttpError('UNAUTHENTICATED');
    });
  },
);
