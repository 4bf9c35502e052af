// What Gatehouse adds around the provider's own answers, as provider middleware: a store
// outage becomes the 503 the rest of Gatehouse answers, and RP-initiated logout asks the member
// first and, when they choose to sign out, ends their Gatehouse session too.

import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import type { Logger } from '../config/logger.ts';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../store/unavailable.ts';
import type { OidcHooks, SessionRef } from './hooks.ts';

export function wireProvider(
  provider: Provider,
  deps: {
    logger: Logger;
    hooks: Pick<OidcHooks, 'sessionOf' | 'pages'>;
    /** The member chose "Sign out" at a service's logout: their Gatehouse session ends. */
    signOut(session: SessionRef, clientId: string | null): Promise<void>;
  },
) {
  const { hooks, logger } = deps;
  const storeDown = new WeakSet<object>();
  provider.on('server_error', (ctx, err) => {
    if (!isStoreUnavailable(err)) return logger.error({ err }, 'OIDC provider error');
    // Expected while a store is down: one line, no stack; the answer becomes a 503 below.
    storeDown.add(ctx);
    logger.warn({ reason: (err as Error).message }, 'store unavailable');
  });
  provider.use(async (koa, next) => {
    await next();
    if (storeDown.has(koa)) answerStoreUnavailable(koa);
    // Set by the provider for the requests it routed (its documented post-middleware use).
    const ctx = koa as typeof koa & Partial<KoaContextWithOIDC>;
    const route = ctx.oidc?.route;
    if (!route) return;
    if (route === 'end_session') await askBeforeLogout(ctx as KoaContextWithOIDC);
    else if (route === 'end_session_confirm') await endGatehouseSession(ctx as KoaContextWithOIDC);
  });

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
    const { page, message } = hooks.pages.storeUnavailable();
    if (typeof koa.body === 'string' && koa.type.includes('html')) {
      koa.body = page;
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
    await deps.signOut(session, ctx.oidc.client?.clientId ?? null);
  }
}
