// Dynamic client registration (RFC 7591) as Gatehouse allows it: anyone holding an initial
// access token registers one client, and the metadata they send is checked before the
// provider stores it. An administrator's clients are not checked here (clients.ts has their rules).

import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Kv } from '../store/kv.ts';
import { isSpecialUseHost } from './outgoing.ts';

/** The registration policy every initial access token carries: it registers one client. */
export const SINGLE_USE = 'gatehouse:single-use';

/** Metadata naming URLs the provider itself requests (see outgoing.ts). */
export const FETCHED_METADATA = ['jwks_uri', 'sector_identifier_uri', 'backchannel_logout_uri'];

const isLoopbackHost = (hostname: string) =>
  hostname === 'localhost' ||
  hostname === '[::1]' ||
  /^127\.\d+\.\d+\.\d+$/.test(hostname) ||
  hostname.endsWith('.localhost');

/**
 * Checks on metadata sent to dynamic registration, as oidc-provider's extraClientMetadata
 * validator: URLs Gatehouse will request must not name a loopback, private or link-local
 * address (names resolving to one are refused when fetched), and a web client's redirect URIs
 * use https except on loopback.
 */
export function validateRegisteredMetadata(
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

/**
 * An initial access token registers one client. Its policy claims it before the client is
 * stored (atomically, so two registrations racing with one token cannot both pass); a
 * registration that fails gives the claim back, one that succeeds destroys the token.
 */
export function singleUseTokens(deps: { kv: Kv; now: () => number }) {
  const claims = new WeakMap<object, string>();
  return {
    /** The SINGLE_USE registration policy. */
    async claim(ctx: KoaContextWithOIDC) {
      const iat = ctx.oidc.entities.InitialAccessToken;
      if (!iat) return;
      const key = `oidc:iat-used:${iat.jti}`;
      const left = typeof iat.exp === 'number' ? iat.exp * 1000 - deps.now() : 0;
      if (!(await deps.kv.setIfAbsent(key, '1', Math.max(60_000, left)))) {
        throw Object.assign(new errors.InvalidToken(), {
          error_description:
            'this initial access token was already used; each one registers a single client, so ask the administrator for a new one',
        });
      }
      claims.set(ctx, key);
    },
    /** Provider middleware: after a registration, the token goes, or its claim is given back. */
    async settle(koa: object & { status: number }, next: () => Promise<unknown>) {
      await next();
      const oidc = (koa as typeof koa & Partial<KoaContextWithOIDC>).oidc;
      const iat = oidc?.route === 'registration' ? oidc.entities.InitialAccessToken : undefined;
      if (!iat) return;
      const claim = claims.get(koa);
      if (koa.status === 201) await iat.destroy();
      else if (claim) await deps.kv.del(claim);
    },
  };
}
