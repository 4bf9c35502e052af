// Personal API tokens: a member's scripts and tools act for them with a subset of their
// permissions. Created with a name, scopes and an optional expiry; shown once; revocable by
// the member and by administrators.
//
// The check (`verify`) runs on every API request that carries a token, so it reads as a
// pipeline and never waits on the database after the first check: parse the token (malformed
// → null, no I/O) → find it (in-process cache → database) → compare the secret's hash in
// constant time → check expiry → note the use (at most once a minute). Revocation and account
// changes reach every instance through the event bus and drop the cached entries at once.
// Creating and revoking a token is recorded in the audit log here, with the actor who did it.

import { and, count, desc, eq } from 'drizzle-orm';
import type { Accounts } from '../accounts/accounts.ts';
import type { Actor, Audit } from '../audit/audit.ts';
import { parseDuration } from '../config/duration.ts';
import { generateSecretToken, parseSecretToken, verifySecret } from '../crypto/secret-tokens.ts';
import { CONTROL_CHARACTERS, UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import type { Kv } from '../store/kv.ts';
import { createLru } from '../store/lru.ts';
import { ApiTokenError } from './errors.ts';
import { apiTokens } from './tables.ts';

/**
 * Pseudo-permissions every member holds: what the JSON API asks of a token acting on the
 * member's own account and groups. They are never stored as grants.
 */
export const MEMBER_SCOPES = [
  'account:read',
  'account:write',
  'groups:read',
  'groups:write',
  'proxy',
] as const;

/**
 * The scope an API token needs to pass forward auth (the services behind the proxy) as its
 * member. Without it a token is for the JSON API only. `perm:` terms of a rule then see the
 * token's other scopes, not all of the member's permissions.
 */
export const PROXY_SCOPE = 'proxy';

/** A permission string: `upload:read`, `gatehouse:admin`, `wiki/edit`. */
export const SCOPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;
export const MAX_SCOPES = 32;
export const MAX_TOKENS_PER_USER = 100;
/** Expiries further away than this are refused; "never" is allowed, with a warning. */
export const MAX_EXPIRY_MS = 5 * 365 * 24 * 60 * 60_000;
export const NO_EXPIRY_WARNING =
  'This token never expires. Revoke it when it is no longer needed, or create one with an expiry.';

/** What `verify` answers for a live token. `scopes` are the ones usable now. */
export interface VerifiedApiToken {
  tokenId: string;
  userId: string;
  scopes: string[];
  expiresAt: number | null;
}

/** A token as lists show it; never its secret. */
export interface ApiTokenInfo {
  id: string;
  userId: string;
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  expired: boolean;
}

/** As kept in process after the first check. */
interface Cached {
  id: string;
  userId: string;
  hashBytes: Buffer;
  /** The token's scopes narrowed to what the member holds now (see `permissionsOf`). */
  scopes: string[];
  expiresAt: number | null;
  lastUsedAt: number;
  /** A disabled member's token is cached as unusable, so a flood of it costs no queries. */
  usable: boolean;
}

type Row = typeof apiTokens.$inferSelect;

/** How often last-used time and address are written back; "last used" is only this precise. */
const TOUCH_INTERVAL_MS = 60_000;
/**
 * How long a checked token is trusted without the database. Events drop entries at once; this
 * bounds how long an instance that missed an event (a dropped pub/sub connection) can lag.
 */
const LOCAL_TTL_MS = 60_000;
const MISSING = 'missing';

/**
 * The expiry a duration names ("30d", "12h", "2w"), from `now`; null for no expiry (null,
 * absent or "never"). Throws TOKEN_EXPIRY_INVALID for anything else.
 */
export function expiresAtFrom(duration: string | null | undefined, now: number): number | null {
  if (duration === null || duration === undefined || duration === 'never') return null;
  const ms = parseDuration(duration);
  if (!ms) throw new ApiTokenError('TOKEN_EXPIRY_INVALID');
  return now + ms;
}

function normaliseName(name: unknown): string | null {
  if (typeof name !== 'string') return null;
  const n = name.normalize('NFKC').trim();
  if (n.length < 1 || n.length > 100 || CONTROL_CHARACTERS.test(n)) return null;
  return n;
}

/** Checks and de-duplicates requested scopes; throws TOKEN_SCOPES_INVALID. */
export function normaliseScopes(scopes: unknown): string[] {
  if (!Array.isArray(scopes)) throw new ApiTokenError('TOKEN_SCOPES_INVALID');
  const unique = [...new Set(scopes)];
  if (unique.length < 1 || unique.length > MAX_SCOPES)
    throw new ApiTokenError('TOKEN_SCOPES_INVALID');
  for (const s of unique) {
    if (typeof s !== 'string' || !SCOPE_PATTERN.test(s))
      throw new ApiTokenError('TOKEN_SCOPES_INVALID');
  }
  return (unique as string[]).sort();
}

function toInfo(row: Row, at: number): ApiTokenInfo {
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    scopes: [...row.scopes],
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    expired: row.expiresAt !== null && row.expiresAt.getTime() <= at,
  };
}

export function createApiTokens(deps: {
  db: Db;
  kv: Kv;
  events: EventBus;
  audit: Audit;
  accounts: Accounts;
  /**
   * The permission strings a member holds now. Defaults to their direct grants; the access
   * subsystem (roles, groups) replaces it. Token scopes are checked against it at creation and
   * narrowed by it when a token is first checked on an instance.
   */
  permissionsOf?: (userId: string) => Promise<readonly string[]>;
  now?: () => number;
  onError?: (err: unknown) => void;
}) {
  const { db, events, audit, accounts } = deps;

  /** The owner is named only when someone else (an administrator, the CLI) acted. */
  const owner = (actor: Actor, userId: string) => (actor.userId === userId ? {} : { userId });
  const now = deps.now ?? Date.now;
  const permissionsOf =
    deps.permissionsOf ??
    (async (userId: string) => (await accounts.findById(userId))?.permissions ?? []);
  const local = createLru<Cached | typeof MISSING>({ max: 50_000, ttlMs: LOCAL_TTL_MS, now });
  // Ids revoked while a database read may have been in flight; the read must not bring them back.
  const revokedHere = createLru<true>({ max: 100_000, ttlMs: 10 * LOCAL_TTL_MS, now });

  function forget(ids: string[]) {
    for (const id of ids) {
      local.delete(id);
      revokedHere.set(id, true);
    }
  }

  /** Drops a member's cached tokens: their account or permissions changed. */
  function invalidateUser(userId: string) {
    local.deleteWhere((v) => v !== MISSING && v.userId === userId);
  }

  events.on((event) => {
    if (event.type === 'apitokens.revoked') forget(event.tokenIds);
    else if (event.type === 'user.changed') invalidateUser(event.userId);
  });
  // Revocations may have been missed (the channel dropped): read tokens afresh.
  events.onGap(() => local.clear());

  async function grantable(userId: string): Promise<Set<string>> {
    return new Set([...MEMBER_SCOPES, ...(await permissionsOf(userId))]);
  }

  async function find(id: string): Promise<Cached | null> {
    const hit = local.get(id);
    if (hit === MISSING) return null;
    if (hit) return hit;
    if (revokedHere.get(id)) return null;
    const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, id)).limit(1);
    if (!row) {
      // Unknown ids are remembered briefly, so forged tokens cost one query each per half minute.
      local.set(id, MISSING, 30_000);
      return null;
    }
    const user = await accounts.findById(row.userId);
    const held = user && !user.disabled ? await grantable(row.userId) : new Set<string>();
    if (revokedHere.get(id)) return null; // revoked while we were reading
    const entry: Cached = {
      id: row.id,
      userId: row.userId,
      hashBytes: Buffer.from(row.secretHash, 'hex'),
      scopes: row.scopes.filter((s) => held.has(s)),
      expiresAt: row.expiresAt?.getTime() ?? null,
      lastUsedAt: row.lastUsedAt?.getTime() ?? 0,
      usable: user !== null && !user.disabled,
    };
    local.set(id, entry);
    return entry;
  }

  /** Writes last use back at most once a minute per token, off the request's path. */
  function touch(entry: Cached, at: number, address: string | null) {
    if (at - entry.lastUsedAt < TOUCH_INTERVAL_MS) return;
    entry.lastUsedAt = at;
    db.update(apiTokens)
      .set({ lastUsedAt: new Date(at), lastUsedIp: address?.slice(0, 100) ?? null })
      .where(eq(apiTokens.id, entry.id))
      .catch((err) => deps.onError?.(err));
  }

  async function revokeRows(rows: Array<{ id: string; userId: string }>) {
    const byUser = new Map<string, string[]>();
    for (const r of rows) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r.id]);
    for (const [userId, tokenIds] of byUser) {
      forget(tokenIds);
      await events.emit({ type: 'apitokens.revoked', userId, tokenIds });
    }
  }

  return {
    /**
     * Creates a token for a member. Scopes must be permissions the member holds (or the member
     * pseudo-scopes `account:read` / `account:write`). Returns the token — shown once, never
     * stored — and warnings to pass on (a token without expiry). Recorded as `apitoken.create`
     * when an actor is given (absent: set-up and tests).
     */
    async create(
      userId: string,
      input: { name: string; scopes: string[]; expiresAt: number | null },
      actor?: Actor,
    ): Promise<{ token: string; info: ApiTokenInfo; warnings: string[] }> {
      const name = normaliseName(input.name);
      if (!name) throw new ApiTokenError('TOKEN_NAME_INVALID');
      const scopes = normaliseScopes(input.scopes);
      const at = now();
      const { expiresAt } = input;
      if (
        expiresAt !== null &&
        (!Number.isFinite(expiresAt) || expiresAt <= at || expiresAt > at + MAX_EXPIRY_MS)
      )
        throw new ApiTokenError('TOKEN_EXPIRY_INVALID');
      const user = await accounts.findById(userId);
      if (!user) throw new ApiTokenError('TOKEN_USER_NOT_FOUND');
      if (user.disabled) throw new ApiTokenError('TOKEN_USER_DISABLED');
      const held = await grantable(userId);
      const missing = scopes.filter((s) => !held.has(s));
      if (missing.length > 0) {
        throw new ApiTokenError(
          'TOKEN_SCOPE_NOT_HELD',
          `A token can only carry permissions you hold yourself; not held: ${missing.join(', ')}.`,
        );
      }
      const [existing] = await db
        .select({ n: count() })
        .from(apiTokens)
        .where(eq(apiTokens.userId, userId));
      if ((existing?.n ?? 0) >= MAX_TOKENS_PER_USER) throw new ApiTokenError('TOKEN_LIMIT_REACHED');
      const { token, id, hash } = generateSecretToken('api');
      const [row] = await db
        .insert(apiTokens)
        .values({
          id,
          userId,
          name,
          secretHash: hash.toString('hex'),
          scopes,
          createdAt: new Date(at),
          expiresAt: expiresAt === null ? null : new Date(expiresAt),
        })
        .returning();
      const info = toInfo(row!, at);
      if (actor)
        await audit.act(actor, 'apitoken.create', `apitoken:${id}`, {
          ...owner(actor, userId),
          scopes: info.scopes,
        });
      return {
        token,
        info,
        warnings: expiresAt === null ? [NO_EXPIRY_WARNING] : [],
      };
    },

    /**
     * The live token a bearer credential stands for, or null. Never throws on bad input; a
     * malformed token costs no I/O, a known one no database read after its first check.
     */
    async verify(
      token: string,
      context: { address?: string } = {},
    ): Promise<VerifiedApiToken | null> {
      const parsed = parseSecretToken(token, 'api');
      if (!parsed) return null;
      const entry = await find(parsed.id);
      // Constant-time: the hash is the secret's only proof.
      if (!entry || !verifySecret(parsed.secret, entry.hashBytes)) return null;
      const at = now();
      if (!entry.usable || (entry.expiresAt !== null && at >= entry.expiresAt)) return null;
      touch(entry, at, context.address ?? null);
      return {
        tokenId: entry.id,
        userId: entry.userId,
        scopes: entry.scopes,
        expiresAt: entry.expiresAt,
      };
    },

    /** A member's tokens, newest first, expired ones included (marked). */
    async listForUser(userId: string): Promise<ApiTokenInfo[]> {
      const at = now();
      const rows = await db
        .select()
        .from(apiTokens)
        .where(eq(apiTokens.userId, userId))
        .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
      return rows.map((r) => toInfo(r, at));
    },

    async get(id: string): Promise<ApiTokenInfo | null> {
      if (!UUID.test(id)) return null;
      const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, id)).limit(1);
      return row ? toInfo(row, now()) : null;
    },

    /**
     * Revokes a token everywhere at once. With `userId`, only if it belongs to that member
     * (someone else's token answers like an unknown one). True when a token was revoked.
     * Recorded as `apitoken.revoke` when an actor is given (absent: set-up and tests).
     */
    async revoke(id: string, options: { userId?: string } = {}, actor?: Actor): Promise<boolean> {
      if (!UUID.test(id)) return false;
      const where = options.userId
        ? and(eq(apiTokens.id, id), eq(apiTokens.userId, options.userId))
        : eq(apiTokens.id, id);
      const rows = await db
        .delete(apiTokens)
        .where(where)
        .returning({ id: apiTokens.id, userId: apiTokens.userId });
      await revokeRows(rows);
      const [row] = rows;
      if (row && actor)
        await audit.act(actor, 'apitoken.revoke', `apitoken:${id}`, owner(actor, row.userId));
      return rows.length > 0;
    },

    /** Revokes every token of a member; the number revoked. */
    async revokeAllForUser(userId: string): Promise<number> {
      const rows = await db
        .delete(apiTokens)
        .where(eq(apiTokens.userId, userId))
        .returning({ id: apiTokens.id, userId: apiTokens.userId });
      await revokeRows(rows);
      return rows.length;
    },

    /** The scopes a member may put on a token now: their permissions and the member scopes. */
    async grantableScopes(userId: string): Promise<string[]> {
      return [...(await grantable(userId))].sort();
    },

    /**
     * Drops a member's cached tokens on this instance, so their scopes are narrowed again on
     * next use. `user.changed` events do this already; call it for permission changes that
     * arrive by other events.
     */
    invalidateUser,
  };
}

export type ApiTokens = ReturnType<typeof createApiTokens>;
