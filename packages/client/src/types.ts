// The public shapes of gatehouse-client: its options, the session options, and the client a
// service holds. Kept apart from their implementation (client.ts, session.ts) so neither has to
// import the other for a type.

import type { JWTPayload } from 'jose';
import type { HttpExchange } from './exchange.ts';
import type { FetchLike, IssuerMetadata } from './lib/discovery.ts';
import type { GatehouseUser } from './user.ts';

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
  /** Accept an `http:` issuer on a host other than 127.0.0.1, ::1 or localhost. Default false. */
  allowInsecureIssuer?: boolean;
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
  /** Cookie name. Default `gatehouse_service_session`; `__Host-` prefixed when secure (a custom name too). */
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
