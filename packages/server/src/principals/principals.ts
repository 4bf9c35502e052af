// Who is asking: the one answer, for the pages, the JSON API, forward auth, the provider and
// introspection, to "which member stands behind this request, and with what may they act?".
// Two steps, each a list of reasons to refuse:
//   claim    a session cookie → the live session (parse, find, compare the hash, expiry, touch:
//            sessions.verify); a bearer token → a live API token (its scopes narrowed to what
//            the member holds, held to the audience), or a JWT access token Gatehouse issued for
//            the audience (to a client still allowed it, whose rule the member passes, its
//            grant not revoked)
//   resolve  → the member, who still exists and is not disabled.
// fromSessionToken and fromBearer take both steps. Forward auth takes them apart: it caches its
// decisions per claim and resolves the member only on a miss, so its hot path reads no member.
// A store that cannot answer throws StoreUnavailableError; it is never taken as "nobody".

import type { Accounts, User } from '../accounts/accounts.ts';
import { type ApiTokens, PROXY_SCOPE } from '../apitokens/apitokens.ts';
import { allowsResource, type Clients } from '../clients/clients.ts';
import type { Session, Sessions } from '../sessions/sessions.ts';

/** How the one asking proved who they are. */
export type Via = 'session' | 'api_token' | 'access_token';

/**
 * What every claim carries, whatever proved it. How the member proved who they are (OIDC's
 * `amr` and `acr`) is a fact only a session can record, and sessions record no such fact, so
 * no field here guesses it; it belongs here, as one field every claim fills.
 */
interface ClaimBase {
  readonly via: Via;
  readonly userId: string;
  /**
   * What the principal acts with: an API token's scopes, narrowed to the permissions the
   * member holds now; null when it acts with all the member's own permissions (a session, a
   * JWT access token). Access rules' `perm:` terms see these.
   */
  readonly scopes: readonly string[] | null;
}

/** A signed-in browser: the session its cookie stands for. */
export interface SessionClaim extends ClaimBase {
  readonly via: 'session';
  readonly session: Session;
  readonly scopes: null;
}

/** A member's script or tool: one of their personal API tokens. */
export interface ApiTokenClaim extends ClaimBase {
  readonly via: 'api_token';
  readonly tokenId: string;
  readonly scopes: readonly string[];
  /** When the token expires (ms since the epoch); null: never. */
  readonly expiresAt: number | null;
}

/** A JWT access token Gatehouse issued to a client for one service (a resource indicator). */
export interface AccessTokenClaim extends ClaimBase {
  readonly via: 'access_token';
  readonly clientId: string;
  /** The grant it was issued under (`gid`); revoking the grant ends the token. */
  readonly grantId: string | null;
  readonly scopes: null;
  /** When the token expires (ms since the epoch, from `exp`). */
  readonly expiresAt: number;
}

/** Who a credential says is asking, before their member record is read (see `resolve`). */
export type Claim = SessionClaim | ApiTokenClaim | AccessTokenClaim;

/** Who is asking: the claim, and the member behind it, who exists and is not disabled. */
export type Principal = Claim & { readonly user: User };
/** A signed-in browser's principal (what fromSessionToken answers). */
export type SessionPrincipal = SessionClaim & { readonly user: User };

/**
 * Whom a bearer token is presented to. `gatehouse`: Gatehouse's own JSON API and introspection,
 * which take API tokens with their scopes as they are. `service`: a service behind forward
 * auth, named by its origin, which takes an API token only with the `proxy` scope and a JWT
 * access token only if it was issued for that origin.
 */
export type Audience =
  | { readonly kind: 'gatehouse' }
  | { readonly kind: 'service'; readonly origin: string };

export const GATEHOUSE_AUDIENCE: Audience = Object.freeze({ kind: 'gatehouse' });

/** A service behind forward auth, by its origin (`https://wiki.example.org`). */
export function serviceAudience(origin: string): Audience {
  return { kind: 'service', origin };
}

/**
 * Why a bearer token was refused: it is not a live credential of an active member
 * (`invalid`), or it is a valid API token without the scope its audience asks for.
 */
export type BearerRefusal =
  | { readonly refused: 'invalid' }
  | { readonly refused: 'insufficient_scope'; readonly userId: string; readonly scope: string };

const INVALID: BearerRefusal = Object.freeze({ refused: 'invalid' });

/** Longer than any credential Gatehouse issues (a JWT access token stays well under this). */
export const MAX_BEARER_LENGTH = 8192;

/** The claims of a JWT access token Gatehouse signed for `audience` and that has not expired. */
export type AccessTokenVerifier = (
  token: string,
  audience: string,
) => Promise<Record<string, unknown> | null>;

export interface PrincipalsDeps {
  sessions: Pick<Sessions, 'verify'>;
  accounts: Pick<Accounts, 'findById'>;
  apiTokens: Pick<ApiTokens, 'verify'>;
  clients: Pick<Clients, 'row'>;
  /** Whether a member satisfies an access rule (a client's). */
  access: { decide(userId: string, rule: string): Promise<boolean> };
  /**
   * JWT access tokens (oidc/access-tokens.ts) and whether a grant was revoked (the provider's
   * storage adapter). Without them a service takes API tokens only.
   */
  accessTokens?: {
    verify: AccessTokenVerifier;
    grantRevoked(grantId: string): Promise<boolean>;
  } | null;
}

export function createPrincipals(deps: PrincipalsDeps) {
  const { sessions, accounts, apiTokens, clients, access } = deps;
  const accessTokens = deps.accessTokens ?? null;

  /** The live session a cookie value stands for; null for anything else. Never throws on bad input. */
  async function sessionClaim(token: unknown): Promise<SessionClaim | null> {
    const session = await sessions.verify(token);
    return session && { via: 'session', userId: session.userId, session, scopes: null };
  }

  async function apiTokenClaim(
    token: string,
    audience: Audience,
    address: string | undefined,
  ): Promise<ApiTokenClaim | BearerRefusal> {
    const verified = await apiTokens.verify(token, { address });
    if (!verified) return INVALID;
    // At a service, a token acts only if its member gave it the proxy scope.
    if (audience.kind === 'service' && !verified.scopes.includes(PROXY_SCOPE))
      return { refused: 'insufficient_scope', userId: verified.userId, scope: PROXY_SCOPE };
    return {
      via: 'api_token',
      userId: verified.userId,
      tokenId: verified.tokenId,
      scopes: verified.scopes,
      expiresAt: verified.expiresAt,
    };
  }

  /**
   * A JWT access token for `origin`: issued to a client still allowed this service as a
   * resource, whose access rule the member still passes (a token minted before either changed
   * is refused), under a grant not ended since (a sign-out, a disconnect, an access change).
   */
  async function accessTokenClaim(
    token: string,
    origin: string,
  ): Promise<AccessTokenClaim | BearerRefusal> {
    if (!accessTokens) return INVALID;
    const claims = await accessTokens.verify(token, origin);
    if (typeof claims?.sub !== 'string' || typeof claims.client_id !== 'string') return INVALID;
    const client = await clients.row(claims.client_id);
    if (!client || !allowsResource(client, origin)) return INVALID;
    const grantId = typeof claims.gid === 'string' ? claims.gid : null;
    if (grantId !== null && (await accessTokens.grantRevoked(grantId))) return INVALID;
    const user = await accounts.findById(claims.sub);
    if (!user || user.disabled) return INVALID;
    if (client.accessRule !== null && !(await access.decide(user.id, client.accessRule)))
      return INVALID;
    if (typeof claims.exp !== 'number') return INVALID;
    return {
      via: 'access_token',
      userId: user.id,
      clientId: client.id,
      grantId,
      scopes: null,
      expiresAt: claims.exp * 1000,
    };
  }

  /**
   * What a bearer token stands for at `audience`, or why it is refused. Never throws on bad
   * input; a malformed token costs no I/O. `address`: the caller's, noted as the API token's
   * last use.
   */
  async function bearerClaim(
    token: unknown,
    audience: Audience,
    context: { address?: string } = {},
  ): Promise<Claim | BearerRefusal> {
    if (typeof token !== 'string' || token === '' || token.length > MAX_BEARER_LENGTH)
      return INVALID;
    // Gatehouse's own API takes API tokens only; a service also takes JWT access tokens.
    if (audience.kind === 'gatehouse' || token.startsWith('gth_'))
      return apiTokenClaim(token, audience, context.address);
    return accessTokenClaim(token, audience.origin);
  }

  /** The claim's member, if they still exist and are not disabled; null otherwise. */
  async function resolve<C extends Claim>(claim: C): Promise<(C & { readonly user: User }) | null> {
    const user = await accounts.findById(claim.userId);
    if (!user || user.disabled) return null;
    return { ...claim, user };
  }

  return {
    /**
     * Who a session cookie stands for: its live session and active member, or null (no such
     * session, expired, revoked, or the member is disabled). Sliding expiry as sessions.verify
     * does it: activity is noted, at most once a minute.
     */
    async fromSessionToken(token: unknown): Promise<SessionPrincipal | null> {
      const claim = await sessionClaim(token);
      return claim && resolve(claim);
    },

    /**
     * Who a bearer token stands for at `audience` (see Audience), or why it is refused: a
     * member whose account is gone or disabled makes any token `invalid`.
     */
    async fromBearer(
      token: unknown,
      audience: Audience,
      context: { address?: string } = {},
    ): Promise<Principal | BearerRefusal> {
      const claim = await bearerClaim(token, audience, context);
      if ('refused' in claim) return claim;
      return (await resolve(claim)) ?? INVALID;
    },

    sessionClaim,
    bearerClaim,
    resolve,
  };
}

export type Principals = ReturnType<typeof createPrincipals>;

/** The steps forward auth takes apart (it caches per claim; see the module comment). */
export type ClaimSteps = Pick<Principals, 'sessionClaim' | 'bearerClaim' | 'resolve'>;
