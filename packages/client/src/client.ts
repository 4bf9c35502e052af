// createGatehouseClient: everything a service needs to trust Gatehouse, built per instance
// (no module state, so two clients for two issuers live side by side). Signed access tokens are
// verified locally against the published keys; opaque tokens through introspection with a short
// lease; both are cached until `exp`, the lease, or a revocation event for their subject.

import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { createAccessEvaluator } from './access.ts';
import { GatehouseError } from './errors.ts';
import { bearerToken, type HttpExchange } from './exchange.ts';
import { createDiscovery, type FetchLike, type IssuerMetadata } from './lib/discovery.ts';
import { type EventStream, openEventStream, type RevocationEvent } from './lib/event-stream.ts';
import { ASYMMETRIC_ALGORITHMS, createKeySet } from './lib/key-set.ts';
import { LeaseCache } from './lib/lease-cache.ts';
import { createSessionManager, type SessionManager } from './session.ts';
import { type GatehouseUser, userFromClaims } from './user.ts';

/**
 * Options of {@link createGatehouseClient}.
 *
 * @example
 * ```ts
 * const options: GatehouseClientOptions = {
 *   issuer: 'https://gatehouse.example.org',
 *   clientId: 'uploads',
 *   clientSecret: process.env.GATEHOUSE_CLIENT_SECRET,
 * };
 * ```
 */
export interface GatehouseClientOptions {
  /** Gatehouse's public URL, exactly as it publishes it (the `iss` of its tokens). */
  issuer: string;
  /** This service's OIDC client id. */
  clientId: string;
  /**
   * This service's client secret. Needed for introspection (opaque tokens), revocation events,
   * and browser sign-in as a confidential client.
   */
  clientSecret?: string;
  /** The `aud` access tokens must carry (one of). Default: the client id. */
  audience?: string | readonly string[];
  /** Accepted signature algorithms. Default: RS256, PS256, ES256, ES384, EdDSA. Never HS* or none. */
  algorithms?: readonly string[];
  /** Leeway for `exp` and `nbf`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** How many verified tokens and sessions to remember. Default 10 000. */
  cacheSize?: number;
  /** How long an introspection answer or a session lease is trusted, in seconds. Default 60. */
  leaseSeconds?: number;
  /** Least time between two JWKS fetches triggered by unknown `kid`s, in seconds. Default 30. */
  jwksCooldownSeconds?: number;
  /** Refresh the keys in the background when older than this, in seconds. Default 600. */
  jwksMaxAgeSeconds?: number;
  /**
   * Listen to revocation events (one connection per client). Default: on when a client secret is
   * given. Without events, a revocation takes effect when the lease ends.
   */
  events?: boolean;
  /** Where the events stream is. Default `<issuer>/api/v1/events`. */
  eventsUrl?: string;
  /** Time-out for each call to Gatehouse, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Browser sign-in for this service (see {@link SessionOptions}). */
  session?: SessionOptions;
  /**
   * "Signed in but not yet known to this service": return false and guards answer 403
   * `unknown_user` (or redirect browsers to `unknownUserRedirect`), except on routes guarded
   * with `allowUnknown: true` (the create-my-user endpoint).
   */
  isKnownUser?: (user: GatehouseUser) => boolean | Promise<boolean>;
  /** Where browsers go when `isKnownUser` answers false (e.g. `/register`). */
  unknownUserRedirect?: string;
  /** Called with failures that are handled but worth knowing (events down, JWKS fetch failed). */
  onError?: (err: unknown) => void;
  /** For tests: a fetch and a clock. */
  fetch?: FetchLike;
  now?: () => number;
}

/**
 * Browser sign-in settings: the service's own session cookie, sealed with `secret`.
 *
 * @example
 * ```ts
 * const session: SessionOptions = {
 *   secret: process.env.SESSION_SECRET!, // at least 32 characters
 *   redirectUri: 'https://uploads.example.org/auth/callback',
 * };
 * ```
 */
export interface SessionOptions {
  /** At least 32 characters; the cookie key is derived from it. */
  secret: string;
  /** The callback URL registered with Gatehouse for this client. */
  redirectUri: string;
  /** Where Gatehouse sends the browser after signing out. Default: the service's `/`. */
  postLogoutRedirectUri?: string;
  /**
   * Scopes to ask for. Default `openid profile email groups` (Gatehouse gives refresh tokens
   * without `offline_access`; asking for it also asks the member to consent every time).
   */
  scope?: string;
  /** A resource indicator (RFC 8707) for the access token, if Gatehouse needs one. */
  resource?: string;
  /** Cookie name. Default `gatehouse_service_session` (`__Host-` prefixed when secure). */
  cookieName?: string;
  /** Send cookies with `Secure`. Default: true when redirectUri is https. */
  secureCookies?: boolean;
  /** Absolute session lifetime in seconds. Default 7 days. */
  maxAgeSeconds?: number;
  /** Paths the adapters answer. Defaults `/auth/login`, `/auth/callback`, `/auth/logout`. */
  loginPath?: string;
  callbackPath?: string;
  logoutPath?: string;
  /** Where to go after sign-in when no return path was given. Default `/`. */
  defaultReturnTo?: string;
}

/** @internal What the other modules of the SDK use of a client. */
export interface ClientCore {
  options: Readonly<GatehouseClientOptions>;
  fetch: FetchLike;
  now: () => number;
  timeoutMs: number;
  leaseMs: number;
  metadata: () => Promise<IssuerMetadata>;
  clientAuthorization: () => string | null;
  introspect: (token: string, hint?: string) => Promise<Record<string, unknown> | null>;
  /** True when a lease checked at `checkedAt` for `sub` must be checked again. */
  mustRecheck: (sub: string, checkedAt: number) => boolean;
  ensureEvents: () => void;
  verifyIdToken: (token: string, nonce: string | null) => Promise<JWTPayload>;
}

/**
 * What {@link createGatehouseClient} returns.
 *
 * @example
 * ```ts
 * const gatehouse: GatehouseClient = createGatehouseClient({ issuer, clientId });
 * const user = await gatehouse.verify(token);
 * ```
 */
export interface GatehouseClient {
  readonly issuer: string;
  readonly clientId: string;
  /**
   * Verifies an access token (a JWT locally, an opaque token through introspection) and
   * returns the member. Throws a {@link GatehouseError} (`token_missing`, `token_invalid`,
   * `token_expired`, `token_revoked`, `issuer_unavailable`).
   *
   * @example
   * ```ts
   * const user = await gatehouse.verify(request.headers.authorization?.slice(7));
   * ```
   */
  verify(token: string | null | undefined): Promise<GatehouseUser>;
  /**
   * Whether the user satisfies an access expression (`members/workshop and upload:write`).
   *
   * @example
   * ```ts
   * if (gatehouse.allows('members/staff or admin:all', user)) showAdminLink();
   * ```
   */
  allows(expression: string, user: GatehouseUser): boolean;
  /**
   * The issuer's discovered metadata.
   *
   * @example
   * ```ts
   * const { jwks_uri } = await gatehouse.metadata();
   * ```
   */
  metadata(): Promise<IssuerMetadata>;
  /**
   * Opens the revocation-event connection now (otherwise it opens on first use) and resolves
   * once connected.
   *
   * @example
   * ```ts
   * await gatehouse.connect();
   * ```
   */
  connect(): Promise<void>;
  /** True while the revocation-event connection is up. */
  readonly eventsConnected: boolean;
  /**
   * Subscribes to `recheck` events (after the SDK has evicted that member's leases).
   *
   * @example
   * ```ts
   * gatehouse.onRecheck((sub) => sockets.closeAllFor(sub));
   * ```
   */
  onRecheck(listener: (sub: string) => void): () => void;
  /**
   * Closes the event connection and forgets every cached token. Call on shutdown.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => gatehouse.close());
   * ```
   */
  close(): void;
  /**
   * The member behind a request: a `Bearer` access token, else the service's session cookie
   * (re-checked with Gatehouse when its lease ended or a revocation named the member). Null
   * when the request carries neither; throws a {@link GatehouseError} for a bad token.
   *
   * @example
   * ```ts
   * const user = await gatehouse.authenticate(exchange); // see HttpExchange
   * ```
   */
  authenticate(exchange: HttpExchange): Promise<GatehouseUser | null>;
  /**
   * Answers the sign-in paths (`/auth/login`, `/auth/callback`, `/auth/logout` by default) and
   * returns true, or returns false for any other request. Needs the `session` option.
   *
   * @example
   * ```ts
   * if (await gatehouse.handleAuthRoute(exchange)) return; // answered
   * ```
   */
  handleAuthRoute(exchange: HttpExchange): Promise<boolean>;
  /** The sign-in paths, or null when browser sign-in is not configured. */
  readonly sessionPaths: { login: string; callback: string; logout: string } | null;
  /** @internal */
  readonly core: ClientCore;
}

const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'];
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Revocation marks kept per subject; beyond this the oldest becomes a floor for everyone. */
const MAX_MARKS = 50_000;
/** How long "this token is not valid" is remembered, so a flood of junk does not call home. */
const NEGATIVE_LEASE_MS = 5_000;

/**
 * The HTTP Basic `Authorization` value for client credentials (RFC 6749 §2.3.1: both parts
 * form-encoded before base64).
 *
 * @example
 * ```ts
 * await fetch(url, { headers: { authorization: basicAuthorization('uploads', secret) } });
 * ```
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/** Exactly three dot-separated parts (a JWS); anything else is opaque. */
function isJwt(token: string): boolean {
  const first = token.indexOf('.');
  if (first <= 0) return false;
  const second = token.indexOf('.', first + 1);
  return second > first && token.indexOf('.', second + 1) === -1;
}

/**
 * Creates a client for one Gatehouse issuer. Nothing is fetched until first use.
 *
 * @example
 * ```ts
 * import { createGatehouseClient } from 'gatehouse-client';
 *
 * const gatehouse = createGatehouseClient({
 *   issuer: 'https://gatehouse.example.org',
 *   clientId: 'uploads',
 *   clientSecret: process.env.GATEHOUSE_CLIENT_SECRET,
 * });
 * const user = await gatehouse.verify(bearerToken);
 * ```
 */
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  if (!options || typeof options.issuer !== 'string' || !/^https?:\/\//.test(options.issuer)) {
    throw new GatehouseError('configuration', 'issuer must be an http(s) URL.');
  }
  if (typeof options.clientId !== 'string' || options.clientId === '') {
    throw new GatehouseError('configuration', 'clientId is required.');
  }
  const issuer = options.issuer;
  const fetchImpl: FetchLike = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5000;
  const leaseMs = (options.leaseSeconds ?? 60) * 1000;
  const audience = options.audience ?? options.clientId;
  const algorithms = (options.algorithms ?? DEFAULT_ALGORITHMS).filter((a) =>
    ASYMMETRIC_ALGORITHMS.includes(a),
  );
  if (algorithms.length === 0) {
    throw new GatehouseError('configuration', 'algorithms must name asymmetric algorithms.');
  }
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const wantEvents = options.events ?? Boolean(options.clientSecret);
  if (wantEvents && !options.clientSecret) {
    throw new GatehouseError('configuration', 'Revocation events need clientSecret.');
  }

  const metadata = createDiscovery({ issuer, fetch: fetchImpl, timeoutMs });
  const keys = createKeySet({
    jwksUri: async () => (await metadata()).jwks_uri,
    fetch: fetchImpl,
    now,
    cooldownMs: (options.jwksCooldownSeconds ?? 30) * 1000,
    maxAgeMs: (options.jwksMaxAgeSeconds ?? 600) * 1000,
    timeoutMs,
    onError: options.onError,
  });
  const cache = new LeaseCache<GatehouseUser | null>(options.cacheSize ?? 10_000);
  const allows = createAccessEvaluator();

  // Revocation marks: a lease checked at or before the mark for its subject is checked again.
  const marks = new Map<string, number>();
  let markFloor = Number.NEGATIVE_INFINITY; // applies to every subject (overflowed marks)
  let gapAt = Number.NEGATIVE_INFINITY; // leases checked before the last (re)connection
  const recheckListeners = new Set<(sub: string) => void>();
  let stream: EventStream | null = null;

  function mark(sub: string) {
    marks.delete(sub);
    marks.set(sub, now());
    while (marks.size > MAX_MARKS) {
      const [oldestSub, at] = marks.entries().next().value as [string, number];
      marks.delete(oldestSub);
      markFloor = Math.max(markFloor, at);
    }
  }

  function revokedSince(sub: string): number {
    return Math.max(marks.get(sub) ?? Number.NEGATIVE_INFINITY, markFloor);
  }

  function onEvent(event: RevocationEvent) {
    if (event.type === 'keys') {
      keys.refresh().catch(() => {});
      return;
    }
    if (event.type === 'recheck-all') {
      // As after a gap in the stream: every lease and cached token is checked again.
      gapAt = now();
      cache.clear();
      return;
    }
    mark(event.sub);
    cache.evictSubject(event.sub);
    for (const listener of recheckListeners) {
      try {
        listener(event.sub);
      } catch (err) {
        options.onError?.(err);
      }
    }
  }

  function ensureEvents() {
    if (!wantEvents || stream) return;
    stream = openEventStream({
      url: options.eventsUrl ?? `${issuer.replace(/\/+$/, '')}/api/v1/events`,
      authorization: basicAuthorization(options.clientId, options.clientSecret!),
      fetch: fetchImpl,
      onEvent,
      onConnected() {
        // Events may have been missed while disconnected: every lease is checked again.
        gapAt = now();
        cache.clear();
      },
      onError: options.onError,
    });
  }

  function clientAuthorization(): string | null {
    return options.clientSecret ? basicAuthorization(options.clientId, options.clientSecret) : null;
  }

  async function introspect(token: string, hint?: string) {
    const auth = clientAuthorization();
    if (!auth) {
      throw new GatehouseError(
        'configuration',
        'Opaque tokens are checked through introspection, which needs clientSecret.',
      );
    }
    const { introspection_endpoint: endpoint } = await metadata();
    if (!endpoint) {
      throw new GatehouseError('configuration', 'The issuer publishes no introspection endpoint.');
    }
    let res: Response;
    try {
      res = await fetchImpl(endpoint, {
        method: 'POST',
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new GatehouseError('issuer_unavailable', undefined, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      throw new GatehouseError('configuration', 'Gatehouse refused this service’s credentials.');
    }
    if (!res.ok) {
      // oidc-provider (and so Gatehouse) does not introspect its own JWT access tokens: it cannot
      // vouch for one, so the caller treats it as not active (a session then refreshes).
      if (res.status === 400) {
        const err = (await res.json().catch(() => null)) as { error?: unknown } | null;
        if (err?.error === 'unsupported_token_type') return null;
      }
      throw new GatehouseError('issuer_unavailable');
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') throw new GatehouseError('issuer_unavailable');
    if (body.active !== true || typeof body.sub !== 'string') return null;
    if (body.iss !== undefined && body.iss !== issuer) return null;
    return body;
  }

  async function verifyJwt(token: string): Promise<GatehouseUser> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        issuer,
        audience: audience as string | string[],
        algorithms,
        clockTolerance,
        requiredClaims: ['exp', 'sub'],
        ...(options.now ? { currentDate: new Date(now()) } : {}),
      }));
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new GatehouseError('token_expired');
      throw new GatehouseError('token_invalid', undefined, { cause: err });
    }
    const sub = payload.sub!;
    const issuedAt = typeof payload.iat === 'number' ? payload.iat * 1000 : 0;
    let claims: Record<string, unknown> = payload;
    // Issued before a revocation for this member: only Gatehouse can say it still stands.
    const asked = now();
    if (issuedAt <= revokedSince(sub)) {
      const live = options.clientSecret ? await introspect(token, 'access_token') : null;
      if (!live) {
        cache.set(token, null, now() + NEGATIVE_LEASE_MS, sub);
        throw new GatehouseError('token_revoked');
      }
      claims = { ...payload, ...live, sub };
    }
    const user = userFromClaims(claims);
    if (!revokedWhileAsking(sub, asked)) cache.set(token, user, payload.exp! * 1000, sub);
    return user;
  }

  /** A revocation or a gap arrived while we waited on Gatehouse: the answer is not kept. */
  function revokedWhileAsking(sub: string, asked: number): boolean {
    return revokedSince(sub) >= asked || gapAt >= asked;
  }

  async function verifyOpaque(token: string): Promise<GatehouseUser> {
    const asked = now();
    const claims = await introspect(token);
    const at = now();
    if (!claims) {
      cache.set(token, null, at + NEGATIVE_LEASE_MS, null);
      throw new GatehouseError('token_invalid');
    }
    const user = userFromClaims(claims);
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Number.POSITIVE_INFINITY;
    if (!revokedWhileAsking(user.id, asked)) {
      cache.set(token, user, Math.min(exp, at + leaseMs), user.id);
    }
    return user;
  }

  const core: ClientCore = {
    options,
    fetch: fetchImpl,
    now,
    timeoutMs,
    leaseMs,
    metadata,
    clientAuthorization,
    introspect,
    mustRecheck: (sub, checkedAt) => checkedAt <= revokedSince(sub) || checkedAt <= gapAt,
    ensureEvents,
    async verifyIdToken(idToken, nonce) {
      const { payload } = await jwtVerify(idToken, keys.getKey, {
        issuer,
        audience: options.clientId,
        algorithms,
        clockTolerance,
        requiredClaims: ['sub', 'exp', 'iat'],
        ...(options.now ? { currentDate: new Date(now()) } : {}),
      });
      if (nonce !== null && payload.nonce !== nonce)
        throw new GatehouseError('login_failed', 'Nonce mismatch.');
      return payload;
    },
  };

  async function verify(token: string | null | undefined): Promise<GatehouseUser> {
    if (typeof token !== 'string' || token === '') throw new GatehouseError('token_missing');
    if (wantEvents && !stream) ensureEvents();
    const hit = cache.get(token, now());
    if (hit !== undefined) {
      if (hit === null) throw new GatehouseError('token_invalid');
      return hit;
    }
    if (token.length > MAX_TOKEN_LENGTH) throw new GatehouseError('token_invalid');
    return isJwt(token) ? verifyJwt(token) : verifyOpaque(token);
  }

  const sessions: SessionManager | null = options.session
    ? createSessionManager(core, verify, options.session)
    : null;

  return {
    issuer,
    clientId: options.clientId,
    core,
    verify,
    async authenticate(exchange) {
      const token = bearerToken(exchange);
      if (token) return verify(token);
      if (/^bearer\b/i.test(exchange.header('authorization') ?? '')) {
        throw new GatehouseError('token_invalid', 'The Authorization header is malformed.');
      }
      return sessions ? sessions.read(exchange) : null;
    },
    async handleAuthRoute(exchange) {
      return sessions ? sessions.handle(exchange) : false;
    },
    sessionPaths: sessions?.paths ?? null,
    allows,
    metadata,
    async connect() {
      if (!wantEvents) {
        throw new GatehouseError('configuration', 'Events are off for this client.');
      }
      ensureEvents();
      await stream!.ready();
    },
    get eventsConnected() {
      return stream?.connected ?? false;
    },
    onRecheck(listener) {
      recheckListeners.add(listener);
      return () => recheckListeners.delete(listener);
    },
    close() {
      stream?.close();
      stream = null;
      cache.clear();
    },
  };
}
