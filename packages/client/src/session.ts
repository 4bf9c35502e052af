// Browser sign-in for a service: a login redirect through Gatehouse (authorization code + PKCE
// S256, state, nonce), the callback (code exchange, ID token check), and the service's own
// session cookie, sealed with the service secret (JWE, dir + A256GCM). The cookie carries the
// member, the tokens and a lease: when the lease ends, or a revocation event names the member,
// the next request re-checks with Gatehouse (introspection, else a refresh) before it is served.

import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { GatehouseError } from './errors.ts';
import { type CookieOptions, type HttpExchange, readCookie } from './exchange.ts';
import type { ClientCore, SessionOptions } from './types.ts';
import { type GatehouseUser, userFromClaims } from './user.ts';

interface SessionPayload {
  u: GatehouseUser;
  at?: string;
  rt?: string;
  idt?: string;
  /** Epoch ms: the lease ends (re-check with Gatehouse). */
  lease: number;
  /** Epoch ms: last checked with Gatehouse. */
  chk: number;
  /** Epoch ms: the session ends whatever happens. */
  end: number;
}

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

/** Cookie values above this risk being dropped by browsers (4096 per cookie incl. name). */
const MAX_COOKIE = 3900;

export interface SessionManager {
  readonly paths: { login: string; callback: string; logout: string };
  /** The member of a valid session cookie (re-checked when due), or null. */
  read(exchange: HttpExchange): Promise<GatehouseUser | null>;
  login(exchange: HttpExchange, returnTo?: string): Promise<void>;
  callback(exchange: HttpExchange): Promise<void>;
  logout(exchange: HttpExchange): Promise<void>;
  /** Answers the login, callback and logout paths; false for any other path. */
  handle(exchange: HttpExchange): Promise<boolean>;
}

/** Only same-site paths: an attacker's absolute URL must not survive the round trip. */
export function safeReturnTo(value: string | null | undefined, fallback: string): string {
  if (!value || value.length > 2000) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return fallback;
  }
  return value;
}

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** `fresh` over `held`; an `email` in `fresh` is verified only if `fresh` says so itself. */
function overlay(held: Record<string, unknown>, fresh: Record<string, unknown>) {
  const merged = { ...held, ...fresh };
  if ('email' in fresh && !('email_verified' in fresh)) delete merged.email_verified;
  return merged;
}

function claimsOf(user: GatehouseUser): Record<string, unknown> {
  return {
    sub: user.id,
    preferred_username: user.username,
    name: user.name,
    email: user.email,
    // A member holds only a verified address (userFromClaims keeps no other); null is "unsaid".
    email_verified: user.email !== null ? true : null,
    picture: user.picture,
    groups: user.groups,
    permissions: user.permissions,
  };
}

export function createSessionManager(
  core: ClientCore,
  verifyAccessToken: (token: string) => Promise<GatehouseUser>,
  options: SessionOptions,
): SessionManager {
  if (typeof options.secret !== 'string' || options.secret.length < 32) {
    throw new GatehouseError('configuration', 'session.secret must be at least 32 characters.');
  }
  let redirect: URL;
  try {
    redirect = new URL(options.redirectUri);
  } catch {
    throw new GatehouseError('configuration', 'session.redirectUri must be an absolute URL.');
  }
  const secure = options.secureCookies ?? redirect.protocol === 'https:';
  const base = options.cookieName ?? 'gatehouse_service_session';
  // Secure cookies keep the __Host- prefix, a custom name too: no subdomain or path can set them.
  const cookieName = secure && !base.startsWith('__Host-') ? `__Host-${base}` : base;
  const txCookieName = `${cookieName}_tx`;
  const key = new Uint8Array(
    hkdfSync('sha256', options.secret, 'gatehouse-client', `session:${core.options.clientId}`, 32),
  );
  const maxAgeMs = (options.maxAgeSeconds ?? 7 * 24 * 3600) * 1000;
  // Gatehouse issues a refresh token to every client allowed the grant, without
  // offline_access (which would force a consent page on first-party services).
  const scope = options.scope ?? 'openid profile email groups';
  const paths = {
    login: options.loginPath ?? '/auth/login',
    callback: options.callbackPath ?? redirect.pathname,
    logout: options.logoutPath ?? '/auth/logout',
  };
  const defaultReturnTo = options.defaultReturnTo ?? '/';
  const cookieBase: CookieOptions = { path: '/', httpOnly: true, secure, sameSite: 'Lax' };
  // Parallel requests whose lease ended share one re-check (a refresh token may rotate).
  const rechecks = new Map<string, Promise<SessionPayload | null>>();

  async function seal(payload: object, expiresAtMs: number): Promise<string> {
    return new EncryptJWT({ ...payload })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setExpirationTime(Math.floor(expiresAtMs / 1000))
      .encrypt(key);
  }

  async function open<T>(value: string | undefined): Promise<T | null> {
    if (!value || value.length > 8192) return null;
    try {
      const { payload } = await jwtDecrypt(value, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        currentDate: new Date(core.now()),
      });
      return payload as T;
    } catch {
      return null;
    }
  }

  async function writeSession(exchange: HttpExchange, s: SessionPayload) {
    let value = await seal(s, s.end);
    // Too big for a cookie: drop what can be done without, in order.
    for (const field of ['idt', 'at'] as const) {
      if (value.length <= MAX_COOKIE) break;
      delete s[field];
      value = await seal(s, s.end);
    }
    exchange.setCookie(cookieName, value, {
      ...cookieBase,
      maxAge: Math.max(0, Math.floor((s.end - core.now()) / 1000)),
    });
  }

  function clear(exchange: HttpExchange, name = cookieName) {
    exchange.setCookie(name, '', { ...cookieBase, maxAge: 0 });
  }

  async function tokenRequest(params: Record<string, string>) {
    const { token_endpoint: endpoint } = await core.metadata();
    if (!endpoint) throw new GatehouseError('configuration', 'The issuer has no token endpoint.');
    const auth = core.clientAuthorization();
    const body = new URLSearchParams(params);
    if (!auth) body.set('client_id', core.options.clientId);
    let res: Response;
    try {
      res = await core.fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          ...(auth ? { authorization: auth } : {}),
        },
        body,
        signal: AbortSignal.timeout(core.timeoutMs),
      });
    } catch (err) {
      throw new GatehouseError('issuer_unavailable', undefined, { cause: err });
    }
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.status >= 500) throw new GatehouseError('issuer_unavailable');
    if (!res.ok || !json || typeof json.access_token !== 'string') return null;
    return json as {
      access_token: string;
      id_token?: string;
      refresh_token?: string;
      expires_in?: number;
    };
  }

  /** The member from the ID token, completed by the access token's claims when readable. */
  async function userFrom(idClaims: Record<string, unknown>, accessToken: string) {
    let fromAccess: Record<string, unknown> = {};
    try {
      const u = await verifyAccessToken(accessToken);
      if (u.id === idClaims.sub) fromAccess = claimsOf(u);
    } catch {
      // Not a token for this service (another audience, or no introspection): ID token only.
    }
    const merged = { ...idClaims };
    for (const [k, v] of Object.entries(fromAccess)) {
      if (v !== null && !(Array.isArray(v) && v.length === 0 && Array.isArray(merged[k]))) {
        merged[k] = v;
      }
    }
    return userFromClaims(merged);
  }

  async function recheck(s: SessionPayload): Promise<SessionPayload | null> {
    const t = core.now();
    if (s.at && core.clientAuthorization()) {
      const live = await core.introspect(s.at, 'access_token');
      if (live && live.sub === s.u.id) {
        const exp = typeof live.exp === 'number' ? live.exp * 1000 : Number.POSITIVE_INFINITY;
        if (exp > t) {
          const u = userFromClaims(overlay(claimsOf(s.u), live));
          return { ...s, u, chk: t, lease: Math.min(t + core.leaseMs, s.end) };
        }
      }
    }
    if (!s.rt) return null;
    const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: s.rt });
    if (!tokens) return null;
    let idClaims: Record<string, unknown> = claimsOf(s.u);
    if (tokens.id_token) {
      // A refreshed ID token carries no nonce; check signature, issuer, audience and subject.
      const payload = await core.verifyIdToken(tokens.id_token, null).catch(() => null);
      if (!payload || payload.sub !== s.u.id) return null;
      idClaims = overlay(idClaims, payload);
    }
    const u = await userFrom(idClaims, tokens.access_token);
    return {
      ...s,
      u,
      at: tokens.access_token,
      rt: tokens.refresh_token ?? s.rt,
      idt: tokens.id_token ?? s.idt,
      chk: t,
      lease: Math.min(t + core.leaseMs, s.end),
    };
  }

  const manager: SessionManager = {
    paths,

    async read(exchange) {
      const raw = readCookie(exchange, cookieName);
      if (!raw) return null;
      const s = await open<SessionPayload>(raw);
      const t = core.now();
      if (!s?.u || typeof s.u.id !== 'string' || !(s.end > t)) {
        clear(exchange);
        return null;
      }
      core.ensureEvents();
      if (t < s.lease && !core.mustRecheck(s.u.id, s.chk)) return s.u;
      let pending = rechecks.get(raw);
      if (!pending) {
        pending = recheck(s).finally(() => rechecks.delete(raw));
        rechecks.set(raw, pending);
      }
      const renewed = await pending;
      if (!renewed) {
        clear(exchange);
        return null;
      }
      await writeSession(exchange, renewed);
      return renewed.u;
    },

    async login(exchange, returnTo) {
      const meta = await core.metadata();
      if (!meta.authorization_endpoint) {
        throw new GatehouseError('configuration', 'The issuer has no authorization endpoint.');
      }
      const tx: Transaction = {
        state: b64url(randomBytes(24)),
        nonce: b64url(randomBytes(24)),
        verifier: b64url(randomBytes(32)),
        returnTo: safeReturnTo(returnTo, defaultReturnTo),
      };
      const url = new URL(meta.authorization_endpoint);
      const params: Record<string, string> = {
        response_type: 'code',
        client_id: core.options.clientId,
        redirect_uri: options.redirectUri,
        scope,
        state: tx.state,
        nonce: tx.nonce,
        code_challenge: b64url(createHash('sha256').update(tx.verifier).digest()),
        code_challenge_method: 'S256',
      };
      if (options.resource) params.resource = options.resource;
      if (scope.split(' ').includes('offline_access')) params.prompt = 'consent';
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      exchange.setCookie(txCookieName, await seal(tx, core.now() + 15 * 60_000), {
        ...cookieBase,
        maxAge: 15 * 60,
      });
      await exchange.redirect(url.href);
    },

    async callback(exchange) {
      const query = new URL(exchange.url, 'http://service.invalid').searchParams;
      const tx = await open<Transaction>(readCookie(exchange, txCookieName));
      clear(exchange, txCookieName);
      const fail = (message: string) => {
        throw new GatehouseError('login_failed', message);
      };
      if (!tx) fail('The sign-in took too long or was started elsewhere; start again.');
      if (query.get('state') !== tx!.state) fail('The sign-in answer does not match; start again.');
      if (query.get('error')) fail('Gatehouse did not sign you in; start again.');
      const code = query.get('code');
      if (!code || code.length > 2048) fail('The sign-in answer has no code; start again.');
      const tokens = await tokenRequest({
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: options.redirectUri,
        code_verifier: tx!.verifier,
      });
      if (!tokens?.id_token) fail('Gatehouse did not confirm the sign-in; start again.');
      let idClaims: Record<string, unknown>;
      try {
        idClaims = await core.verifyIdToken(tokens!.id_token!, tx!.nonce);
      } catch (err) {
        throw new GatehouseError('login_failed', 'The sign-in could not be verified.', {
          cause: err,
        });
      }
      const user = await userFrom(idClaims, tokens!.access_token);
      const t = core.now();
      await writeSession(exchange, {
        u: user,
        at: tokens!.access_token,
        rt: tokens!.refresh_token,
        idt: tokens!.id_token,
        chk: t,
        lease: t + core.leaseMs,
        end: t + maxAgeMs,
      });
      await exchange.redirect(tx!.returnTo);
    },

    async logout(exchange) {
      const s = await open<SessionPayload>(readCookie(exchange, cookieName));
      clear(exchange);
      const meta = await core.metadata().catch(() => null);
      const after = options.postLogoutRedirectUri ?? new URL('/', options.redirectUri).href;
      if (!meta?.end_session_endpoint) return void (await exchange.redirect(after));
      const url = new URL(meta.end_session_endpoint);
      url.searchParams.set('client_id', core.options.clientId);
      url.searchParams.set('post_logout_redirect_uri', after);
      if (s?.idt) url.searchParams.set('id_token_hint', s.idt);
      await exchange.redirect(url.href);
    },

    async handle(exchange) {
      const path = exchange.url.split('?')[0];
      if (path === paths.login && exchange.method === 'GET') {
        const q = new URL(exchange.url, 'http://service.invalid').searchParams;
        await manager.login(exchange, q.get('returnTo') ?? undefined);
        return true;
      }
      if (path === paths.callback && exchange.method === 'GET') {
        await manager.callback(exchange);
        return true;
      }
      if (path === paths.logout && (exchange.method === 'POST' || exchange.method === 'GET')) {
        // Cross-site requests cannot sign a member out (logout CSRF).
        if (exchange.header('sec-fetch-site') === 'cross-site') {
          throw new GatehouseError('forbidden', 'Sign out from this service’s own pages.');
        }
        await manager.logout(exchange);
        return true;
      }
      return false;
    },
  };
  return manager;
}
