// createGatehouseClient: everything a service needs to trust Gatehouse, built per instance
// (no module state, so two clients for two issuers live side by side). Signed access tokens are
// verified locally against the published keys; opaque tokens through introspection with a short
// lease; both are cached until `exp`, the lease, or a revocation event for their subject.

// First: defines the Web Crypto globals jose needs where Node (18) does not.
import './lib/web-crypto.ts';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { createAccessEvaluator } from './access.ts';
import { GatehouseError } from './errors.ts';
import { bearerToken } from './exchange.ts';
import { createDiscovery, type FetchLike } from './lib/discovery.ts';
import { type EventStream, openEventStream, type RevocationEvent } from './lib/event-stream.ts';
import { ASYMMETRIC_ALGORITHMS, createKeySet } from './lib/key-set.ts';
import { LeaseCache } from './lib/lease-cache.ts';
import { createSessionManager, type SessionManager } from './session.ts';
import type { ClientCore, GatehouseClient, GatehouseClientOptions } from './types.ts';
import { type GatehouseUser, userFromClaims } from './user.ts';

export type { GatehouseClient, GatehouseClientOptions, SessionOptions } from './types.ts';

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

/**
 * The JWT `typ` header without its optional `application/` prefix, lower-cased (RFC 8725 §3.11,
 * RFC 9068 §4: `at+jwt` and `application/at+jwt` are the same type).
 */
function normalizedTyp(typ: unknown): string | null {
  if (typeof typ !== 'string') return null;
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

/** An introspection answer's `token_type` for a bearer credential (RFC 6749 §7.1: any case). */
function isBearerTokenType(tokenType: unknown): boolean {
  if (typeof tokenType !== 'string') return false;
  return tokenType.toLowerCase() === 'bearer' || tokenType === 'gatehouse_api_token';
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
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
  if (
    options.issuer.startsWith('http://') &&
    !options.allowInsecureIssuer &&
    !['127.0.0.1', '[::1]', 'localhost'].includes(hostnameOf(options.issuer))
  ) {
    // Keys, introspection answers and client credentials over plain HTTP can be read and replaced.
    throw new GatehouseError(
      'configuration',
      'issuer must be https (http only for 127.0.0.1, ::1 or localhost, or with allowInsecureIssuer).',
    );
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
    // Only an access token (oidc-provider answers token_type Bearer) or a Gatehouse API token is
    // a bearer credential; a refresh token (no token_type) or a DPoP-bound token is not.
    if (!isBearerTokenType(body.token_type)) return null;
    return body;
  }

  async function verifyJwt(token: string): Promise<GatehouseUser> {
    let payload: JWTPayload;
    try {
      let protectedHeader: { typ?: unknown };
      ({ payload, protectedHeader } = await jwtVerify(token, keys.getKey, {
        issuer,
        audience: audience as string | string[],
        algorithms,
        clockTolerance,
        requiredClaims: ['exp', 'sub'],
        ...(options.now ? { currentDate: new Date(now()) } : {}),
      }));
      // Only an access token is a bearer credential (RFC 9068): an ID token (which leaks through
      // id_token_hint) or a logout token signed by the same keys for this audience is not.
      if (normalizedTyp(protectedHeader.typ) !== 'at+jwt') {
        throw new GatehouseError('token_invalid', 'The token is not an access token.');
      }
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new GatehouseError('token_expired');
      throw new GatehouseError('token_invalid', undefined, { cause: err });
    }
    const sub = payload.sub!;
    const issuedAt = typeof payload.iat === 'number' ? payload.iat * 1000 : 0;
    let claims: Record<string, unknown> = payload;
    // Issued before a revocation for this member: only Gatehouse can say it still stands. `iat`
    // is Gatehouse's clock and the mark this service's, so the tolerance covers their skew.
    const asked = now();
    if (issuedAt <= revokedSince(sub) + clockTolerance * 1000) {
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
      const { payload, protectedHeader } = await jwtVerify(idToken, keys.getKey, {
        issuer,
        audience: options.clientId,
        algorithms,
        clockTolerance,
        requiredClaims: ['sub', 'exp', 'iat'],
        ...(options.now ? { currentDate: new Date(now()) } : {}),
      });
      // An access token for this client is not an ID token (nor is a logout token).
      const typ = normalizedTyp(protectedHeader.typ);
      if (typ === 'at+jwt' || typ === 'logout+jwt') {
        throw new GatehouseError('login_failed', 'The ID token is not an ID token.');
      }
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
