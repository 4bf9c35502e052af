// Forward-auth decisions: may this request, which the proxy is about to pass to a service, go
// through, and as whom? A pipeline, each step one reason to refuse:
//   pick the rule (named by the proxy, or the first that matches host, path and method, the
//   same under every way servers read the path; none: deny) → bypass or deny need nobody → who is asking (session cookie, else an API token in
//   Authorization) → the decision for (who, rule), from an in-process cache → identity headers.
// Who is asking is principals' answer, in its two steps: the claim (the session, the token)
// keys the cache, and only a miss reads the member (resolve).
//
// Nothing here waits on the database once warm: sessions and users come from their own caches,
// and decisions from ours. Every cache is invalidated by the event bus (sign-out, a disabled
// user, a change of groups), not left to expire, so a revocation holds on every instance at
// the next request.

import { createHash } from 'node:crypto';
import type { User } from '../accounts/accounts.ts';
import { PROXY_SCOPE } from '../apitokens/apitokens.ts';
import type { ForwardAuthConfig } from '../config/forward-auth.ts';
import {
  type BearerRefusal,
  type Claim,
  type ClaimSteps,
  serviceAudience,
} from '../principals/principals.ts';
import type { EventBus, GatehouseEvent } from '../store/events.ts';
import { createLru } from '../store/lru.ts';
import type { OriginalRequest } from './original-request.ts';
import { compileRules, type ExpressionValidator, type Rule, type RuleSet } from './rules.ts';

/** The access-groups subsystem, as forward auth uses it (gh.access). */
export interface AccessDecider {
  /**
   * Does the user satisfy the group expression (paths, perm:x, user:name, & | ! ())?
   * `permissions`: what `perm:` terms see instead of all the member's (an API token's scopes).
   */
  decide(
    userId: string,
    expression: string,
    opts?: { permissions?: readonly string[] },
  ): Promise<boolean>;
  /** The user's group paths, for Remote-Groups. */
  groupsOf(userId: string): Promise<string[]>;
}

export interface VerifyInput {
  readonly original: OriginalRequest;
  /** The session cookie's value, if any. */
  readonly sessionToken: string | undefined;
  /** The original request's Authorization header, if any. */
  readonly authorization: string | undefined;
  /** `?rule=` on the verify URL: the proxy chose the rule. */
  readonly ruleName: string | null;
  readonly address?: string;
}

export type Verdict =
  | { readonly status: 200; readonly headers: Readonly<Record<string, string>> | null }
  | { readonly status: 401; readonly reason: string; readonly credentialTried: boolean }
  | { readonly status: 403; readonly reason: string };

interface Decision {
  readonly userId: string;
  readonly verdict: Verdict;
}

/**
 * A checked credential: what it claims, or the refusal of an API token without the proxy
 * scope (cached too, so its refusal costs no second check). Both name the member, whose
 * events drop the entry.
 */
type CachedCredential = Claim | Extract<BearerRefusal, { refused: 'insufficient_scope' }>;

/** Who is asking, and the key their decisions are cached under. */
interface Subject {
  readonly key: string;
  readonly claim: Claim;
}

const NO_HEADERS: Verdict = Object.freeze({ status: 200, headers: null });
const NO_RULE: Verdict = Object.freeze({ status: 403, reason: 'no rule matches this request' });
const AMBIGUOUS_PATH: Verdict = Object.freeze({
  status: 403,
  reason:
    'this path reads differently to different servers (an encoded slash or backslash, a ;parameter, a double-encoded escape or //), and the readings fall under different rules',
});
const UNKNOWN_RULE: Verdict = Object.freeze({
  status: 403,
  reason: 'the proxy named an unknown rule',
});
const DENIED: Verdict = Object.freeze({ status: 403, reason: 'the rule denies this request' });
const NOT_LISTED: Verdict = Object.freeze({
  status: 403,
  reason: 'the rule does not allow this member',
});
const SIGN_IN: Verdict = Object.freeze({
  status: 401,
  reason: 'not signed in',
  credentialTried: false,
});
const BAD_CREDENTIAL: Verdict = Object.freeze({
  status: 401,
  reason: 'the credential in Authorization is not valid',
  credentialTried: true,
});
const NOT_FOR_PROXY: Verdict = Object.freeze({
  status: 403,
  reason: `the API token does not have the "${PROXY_SCOPE}" scope, which forward auth asks for`,
});

/** How long a verified API token is trusted before it is checked again (revocations cut it short). */
export const CREDENTIAL_LEASE_MS = 30_000;
/** A safety net only: decisions are dropped by events long before. */
const DECISION_TTL_MS = 5 * 60_000;
const MAX_AUTHORIZATION = 4096;

/** Header values are latin1 on the wire: send UTF-8 bytes (what upstreams decode), no controls. */
export function headerValue(text: string): string {
  const clean = text.replace(/[\p{Cc}]/gu, ' ');
  return /^[\x20-\x7e]*$/.test(clean) ? clean : Buffer.from(clean, 'utf8').toString('latin1');
}

/** The token in `Bearer <token>` or the password of `Basic base64(user:token)`; null otherwise. */
export function credentialFrom(authorization: string): string | null {
  if (authorization.length > MAX_AUTHORIZATION) return null;
  const space = authorization.indexOf(' ');
  if (space < 0) return null;
  const scheme = authorization.slice(0, space).toLowerCase();
  const rest = authorization.slice(space + 1).trim();
  if (rest === '') return null;
  if (scheme === 'bearer') return rest;
  if (scheme !== 'basic') return null;
  // The username is not checked: the token alone proves who is asking (Remote-User is its owner).
  const decoded = Buffer.from(rest, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  return password === '' ? null : password;
}

export function createForwardAuth(deps: {
  config: ForwardAuthConfig;
  issuer: string;
  /** Who is asking: session cookies, API tokens and JWT access tokens. */
  principals: ClaimSteps;
  events: EventBus;
  access?: AccessDecider | null;
  validateExpression?: ExpressionValidator;
  now?: () => number;
}) {
  const { principals, events } = deps;
  const now = deps.now ?? Date.now;
  const access = deps.access ?? null;
  const loginUrl = `${deps.issuer}/login`;

  interface State {
    readonly rules: RuleSet;
    /** Per (who, rule): a new rule set starts with an empty cache. */
    readonly decisions: ReturnType<typeof createLru<Decision>>;
  }
  const makeState = (rules: RuleSet): State => ({
    rules,
    decisions: createLru<Decision>({ max: 50_000, ttlMs: DECISION_TTL_MS, now }),
  });
  let state = makeState(compileRules(deps.config, deps.validateExpression));

  const credentials = createLru<CachedCredential>({
    max: 10_000,
    ttlMs: CREDENTIAL_LEASE_MS,
    now,
  });
  const identities = createLru<Readonly<Record<string, string>>>({
    max: 10_000,
    ttlMs: DECISION_TTL_MS,
    now,
  });
  // Bumped by every invalidation, so a decision computed across one is not cached afterwards.
  let epoch = 0;

  function forgetUsers(userIds: readonly string[]) {
    epoch++;
    const ids = new Set(userIds);
    state.decisions.deleteWhere((d) => ids.has(d.userId));
    credentials.deleteWhere((c) => ids.has(c.userId));
    for (const id of ids) identities.delete(id);
  }

  /** Drops cached credential verifications (all, or one user's) and the decisions made on them. */
  function forgetCredentials(userId?: string) {
    epoch++;
    if (userId === undefined) credentials.clear();
    else credentials.deleteWhere((c) => c.userId === userId);
    state.decisions.deleteWhere((_d, k) => k.startsWith('c:'));
  }

  // Any event about a user drops what we know about them: sign-out, disabling, a change of
  // profile or groups, and events added later (API token revocations) all carry userId(s).
  // A changed client (its resources, its access rule) may end the JWT access tokens issued to it.
  events.on((event: GatehouseEvent) => {
    if (event.type === 'clients.changed') {
      forgetCredentials();
      return;
    }
    const e = event as { userId?: unknown; userIds?: unknown };
    if (e.userIds === '*') {
      // A structural change (a group moved, a role changed): every cached answer may be stale.
      epoch++;
      state.decisions.clear();
      credentials.clear();
      identities.clear();
      return;
    }
    const ids: string[] = [];
    if (typeof e.userId === 'string') ids.push(e.userId);
    if (Array.isArray(e.userIds))
      for (const id of e.userIds) if (typeof id === 'string') ids.push(id);
    if (ids.length > 0) forgetUsers(ids);
  });
  // Events may have been missed (the channel dropped and is back): decide afresh.
  events.onGap(() => {
    epoch++;
    state.decisions.clear();
    credentials.clear();
    identities.clear();
  });

  async function identityHeaders(user: User): Promise<Readonly<Record<string, string>>> {
    const hit = identities.get(user.id);
    if (hit) return hit;
    const at = epoch;
    const groups = access ? await access.groupsOf(user.id) : [];
    // Remote-Email only for an address Gatehouse has verified: a service may treat it as proof.
    const headers: Readonly<Record<string, string>> = Object.freeze({
      'remote-user': headerValue(user.username),
      ...(user.emailVerified ? { 'remote-email': headerValue(user.email) } : {}),
      'remote-name': headerValue(user.name ?? user.username),
      'remote-groups': headerValue(groups.join(',')),
    });
    if (at === epoch) identities.set(user.id, headers);
    return headers;
  }

  async function evaluate(
    rule: Rule,
    user: User,
    permissions: readonly string[] | null,
  ): Promise<Verdict> {
    if (rule.users && !rule.users.has(user.username.toLowerCase())) return NOT_LISTED;
    if (rule.groups !== null) {
      // Compiling refuses group rules unless an access decider validated them.
      const opts = permissions ? { permissions } : undefined;
      if (!access || !(await access.decide(user.id, rule.groups, opts))) return NOT_LISTED;
    }
    return { status: 200, headers: await identityHeaders(user) };
  }

  /**
   * Who is asking: the key their decisions are cached under, or a refusal. A live session
   * decides, whatever Authorization holds; its member is read only on a decision miss.
   */
  async function subject(input: VerifyInput): Promise<Subject | Verdict> {
    if (input.sessionToken) {
      const claim = await principals.sessionClaim(input.sessionToken);
      if (claim) return { key: `s:${claim.session.id}`, claim };
    }
    if (!input.authorization) return SIGN_IN;
    const token = credentialFrom(input.authorization);
    if (!token) return BAD_CREDENTIAL;
    // Keyed by a hash (the cache never holds a usable token) and by the service: a JWT access
    // token is good only for the origin it was issued for.
    const origin = new URL(input.original.url).origin;
    const hash = createHash('sha256').update(`${origin}\n${token}`).digest('base64url');
    const key = `c:${hash}`;
    const cached = credentials.get(hash);
    if (cached) return 'refused' in cached ? NOT_FOR_PROXY : { key, claim: cached };
    const at = epoch;
    const outcome = await principals.bearerClaim(token, serviceAudience(origin), {
      address: input.address,
    });
    if ('refused' in outcome) {
      if (outcome.refused === 'invalid') return BAD_CREDENTIAL;
      if (at === epoch) credentials.set(hash, outcome);
      return NOT_FOR_PROXY;
    }
    // Trusted for the lease, never past the credential's own expiry.
    const lease =
      outcome.via === 'session' || outcome.expiresAt === null
        ? CREDENTIAL_LEASE_MS
        : Math.min(CREDENTIAL_LEASE_MS, outcome.expiresAt - now());
    if (at === epoch && lease > 0) credentials.set(hash, outcome, lease);
    return { key, claim: outcome };
  }

  async function verify(input: VerifyInput): Promise<Verdict> {
    const { original } = input;
    const current = state;
    let rule: Rule | null;
    if (input.ruleName !== null) {
      rule = current.rules.byName(input.ruleName);
      if (!rule) return UNKNOWN_RULE;
      if (!rule.matches(original.host, original.path, original.method)) return DENIED;
    } else {
      const picked = current.rules.pick(
        original.host,
        original.path,
        original.readings,
        original.method,
      );
      if (!picked) return AMBIGUOUS_PATH;
      rule = picked.rule;
      if (!rule) return NO_RULE;
    }
    if (rule.policy === 'bypass') return NO_HEADERS;
    if (rule.policy === 'deny') return DENIED;

    const who = await subject(input);
    if ('status' in who) return who;
    const key = `${who.key}\n${rule.index}`;
    const hit = current.decisions.get(key);
    if (hit) return hit.verdict;

    const at = epoch;
    const principal = await principals.resolve(who.claim);
    if (!principal) return who.claim.via === 'session' ? SIGN_IN : BAD_CREDENTIAL;
    const { user } = principal;
    const verdict = await evaluate(rule, user, principal.scopes);
    if (at === epoch && current === state) current.decisions.set(key, { userId: user.id, verdict });
    return verdict;
  }

  return {
    verify,
    /** The login page's URL that brings the member back to `url` afterwards. */
    loginLocation(url: string): string {
      return `${loginUrl}?return_to=${encodeURIComponent(url)}`;
    },
    /** Parent domains the login page may return to (the current rule set's). */
    returnDomains(): readonly string[] {
      return state.rules.domains;
    },
    /** The header NGINX puts the original URL in. */
    originalUrlHeader(): string {
      return state.rules.originalUrlHeader;
    },
    /**
     * Swaps in new rules, compiled completely before the swap; on an error (ConfigError) the
     * old rules stay. In-flight requests finish with the rule set they started with.
     */
    reload(config: ForwardAuthConfig, where = '') {
      const rules = compileRules(config, deps.validateExpression, where);
      state = makeState(rules);
      return { rules: rules.rules.length };
    },
    /** Drops cached API-token verifications (all, or one user's), e.g. on a token revocation. */
    forgetCredentials,
  };
}

export type ForwardAuth = ReturnType<typeof createForwardAuth>;
