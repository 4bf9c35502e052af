// Sessions: created at sign-in, checked on every request, ended by sign-out, by the user from
// another device, by a password change, or by expiry (idle or absolute).
//
// The check is the hottest path in Gatehouse, so it reads as a pipeline: parse the token
// (malformed → null, no I/O) → find the session (in-process cache → shared store → database)
// → compare the secret's hash in constant time → check expiry → note activity (throttled).
//
// Ending sessions (tombstones, event, row, retried until it takes) is `revocation.ts`. While a
// store is down, a session this instance holds and heard no revocation of keeps working
// (STALE_GRACE_MS). What a member or an administrator does to sessions (sign in, sign out,
// revoke) is recorded in the audit log: sign-in here, the rest in `ending.ts`.

import { hash as oneShotHash } from 'node:crypto';
import { and, asc, eq, lt, ne, or } from 'drizzle-orm';
import type { Audit } from '../audit/audit.ts';
import { generateSecretToken, parseSecretToken, verifySecret } from '../crypto/secret-tokens.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import type { Kv } from '../store/kv.ts';
import { createLru } from '../store/lru.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import { createSessionEnding } from './ending.ts';
import { createRevocations, kvKey, tombKey } from './revocation.ts';
import { sessions } from './tables.ts';
import type { Cached, Local, Session, SessionConfig, SessionListing, Verified } from './types.ts';

export type { Session, SessionConfig, SessionListing } from './types.ts';

/** How often activity is written back; idle expiry is only this precise, by design. */
const TOUCH_INTERVAL_MS = 60_000;
/** How long a session is trusted from process memory before the shared store is asked again. */
const LOCAL_TTL_MS = 60_000;
/**
 * How much longer it is still served when the shared store cannot be asked (Redis or Postgres
 * down). No revocation can be made meanwhile: it needs the shared store (see end()). An
 * instance cut off from a Redis that others still reach could miss one; this bounds that.
 */
export const STALE_GRACE_MS = 5 * 60_000;
const MISSING = 'missing';
/** Longer than any session cookie; a longer value is not worth hashing to look up. */
const MAX_MEMO_TOKEN = 256;

export function createSessions(deps: {
  db: Db;
  kv: Kv;
  events: EventBus;
  audit: Audit;
  config: SessionConfig;
  now?: () => number;
  onError?: (err: unknown) => void;
}) {
  const { db, kv, events, audit, config } = deps;
  const now = deps.now ?? Date.now;
  const local = createLru<Local | typeof MISSING>({
    max: 50_000,
    ttlMs: LOCAL_TTL_MS + STALE_GRACE_MS,
    now,
  });
  // Verified cookies (see Verified). A hit skips only the token parse and the hash comparison:
  // the session itself is still found as on a miss (find(): in-process copy while revocations
  // can be heard, else the shared store and its tombstone), and must still carry the same hash.
  // An entry lives no longer than the session could (idle and absolute expiry at the time it
  // was made) nor than the in-process copy; it goes with the session's revocation and with
  // everything else on an event-channel gap.
  const verified = createLru<Verified>({ max: 50_000, ttlMs: LOCAL_TTL_MS, now });
  // Bumped when this instance may have missed revocations: a read begun before is not cached.
  let generation = 0;
  const revocations = createRevocations({
    db,
    kv,
    events,
    absoluteTimeoutMs: config.absoluteTimeoutMs,
    now,
    onForget: (ids) => {
      for (const id of ids) local.delete(id);
      const gone = new Set(ids);
      verified.deleteWhere((v) => gone.has(v.id));
    },
    onError: deps.onError,
  });
  const { end } = revocations;

  // The event channel was lost and is back: a revocation sent meanwhile was not heard, so
  // everything held in memory is read again (its tombstone, if any, is in the shared store).
  events.onGap(() => {
    generation++;
    local.clear();
    verified.clear();
  });

  function toLocal(s: Cached, readAt: number): Local {
    const { id, userId, secretHash, createdAt, lastSeenAt, expiresAt } = s;
    return {
      id,
      userId,
      secretHash,
      createdAt,
      lastSeenAt,
      expiresAt,
      readAt,
      hashBytes: Buffer.from(secretHash, 'hex'),
    };
  }

  /** The shared store's copy: JSON, and the milliseconds it may live (≤ 0: not worth keeping). */
  function sharedCopy(s: Cached): { json: string; ttl: number } {
    const { id, userId, secretHash, createdAt, lastSeenAt, expiresAt } = s;
    const ttl = Math.min(expiresAt, lastSeenAt + config.idleTimeoutMs) - now();
    const json = JSON.stringify({ id, userId, secretHash, createdAt, lastSeenAt, expiresAt });
    return { json, ttl };
  }

  async function remember(s: Cached) {
    const { json, ttl } = sharedCopy(s);
    if (ttl > 0) await kv.set(kvKey(s.id), json, ttl);
  }

  /** Reads a session from the shared store, else the database, and caches it in process. */
  async function load(id: string): Promise<Local | null> {
    const at = generation;
    const [shared, tombstone] = await Promise.all([kv.get(kvKey(id)), kv.get(tombKey(id))]);
    if (tombstone) {
      revocations.forget([id]);
      return null;
    }
    let s: Cached;
    if (shared) {
      s = JSON.parse(shared) as Cached;
    } else {
      const [row] = await db.select().from(sessions).where(eq(sessions.id, id)).limit(1);
      if (!row) {
        // Unknown ids are remembered briefly so a flood of forged cookies costs one query each at most per minute.
        if (at === generation) local.set(id, MISSING, 30_000);
        return null;
      }
      if (revocations.revokedHere(id)) return null; // revoked while we were reading
      s = {
        id: row.id,
        userId: row.userId,
        secretHash: row.secretHash,
        createdAt: row.createdAt.getTime(),
        lastSeenAt: row.lastSeenAt.getTime(),
        expiresAt: row.expiresAt.getTime(),
      };
      await remember(s);
    }
    if (revocations.revokedHere(id)) return null; // revoked while we were reading
    const fresh = toLocal(s, now());
    if (at === generation) local.set(id, fresh);
    return fresh;
  }

  /** The copy in memory while it may be trusted (find's first step, without a promise). */
  function held(id: string): Local | undefined {
    const hit = local.get(id);
    // Trusted from memory only while revocations can be heard; otherwise the shared store decides.
    if (hit && hit !== MISSING && events.listening && now() - hit.readAt < LOCAL_TTL_MS) return hit;
    return undefined;
  }

  async function find(id: string): Promise<Local | null> {
    const hit = local.get(id);
    if (hit === MISSING) return null;
    // Trusted from memory only while revocations can be heard; otherwise the shared store decides.
    if (hit && events.listening && now() - hit.readAt < LOCAL_TTL_MS) return hit;
    if (revocations.revokedHere(id)) return null;
    try {
      return await load(id);
    } catch (err) {
      // A store is down. The copy in memory was valid a moment ago and no revocation of it was
      // heard (none can be made while the shared store is down), so it is still served.
      if (hit && now() - hit.readAt < LOCAL_TTL_MS + STALE_GRACE_MS && isStoreUnavailable(err))
        return hit;
      throw err;
    }
  }

  function expired(lastSeenAt: number, expiresAt: number, at: number): boolean {
    return at >= expiresAt || at >= lastSeenAt + config.idleTimeoutMs;
  }

  /**
   * Writes activity back at most once a minute per session, off the request's path, and only
   * to a session that still exists: the shared copy is replaced only if it is still there (a
   * revocation deletes it first), and a row found gone takes the copies with it. So a
   * write-back racing a revocation can never bring the session back.
   */
  function touch(s: Local, at: number) {
    if (at - s.lastSeenAt < TOUCH_INTERVAL_MS) return;
    const next: Local = { ...s, lastSeenAt: at };
    // Only over the copy this check read: not over a revocation or a reload since.
    if (local.get(s.id) === s) local.set(s.id, next);
    const { json, ttl } = sharedCopy(next);
    Promise.all([
      db
        .update(sessions)
        .set({ lastSeenAt: new Date(at) })
        .where(eq(sessions.id, s.id))
        .returning({ id: sessions.id }),
      ttl > 0 ? kv.setIfPresent(kvKey(s.id), json, ttl) : false,
    ])
      .then(async ([rows]) => {
        if (rows.length > 0) return;
        if (local.get(s.id) === next) local.delete(s.id);
        await kv.del(kvKey(s.id));
      })
      // Activity not written during an outage is expected; the next write-back catches up.
      .catch((err) => {
        if (!isStoreUnavailable(err)) deps.onError?.(err);
      });
  }

  /** Whose session this is: from memory, the shared store or the database; null if none. */
  async function ownerOf(id: string): Promise<string | null> {
    const hit = local.get(id);
    if (hit && hit !== MISSING) return hit.userId;
    const shared = await kv.get(kvKey(id));
    if (shared) return (JSON.parse(shared) as Cached).userId;
    const [row] = await db
      .select({ userId: sessions.userId })
      .from(sessions)
      .where(eq(sessions.id, id))
      .limit(1);
    return row?.userId ?? null;
  }

  /** Ends a session; `replacedBy` names the session that replaces it (same member, same browser). */
  async function revoke(id: string, replacedBy?: string): Promise<boolean> {
    const userId = await ownerOf(id);
    if (userId !== null) await end(userId, [id], replacedBy);
    return userId !== null;
  }

  const service = {
    /**
     * Starts a session (a sign-in, recorded as `session.sign_in` by the member from `meta.ip`);
     * the token goes into the cookie and is never stored.
     */
    async create(userId: string, meta: { ip?: string | null; userAgent?: string | null } = {}) {
      const { token, id, hash } = generateSecretToken('sess');
      const at = now();
      const s: Cached = {
        id,
        userId,
        secretHash: hash.toString('hex'),
        createdAt: at,
        lastSeenAt: at,
        expiresAt: at + config.absoluteTimeoutMs,
      };
      await db.insert(sessions).values({
        id,
        userId,
        secretHash: s.secretHash,
        createdAt: new Date(at),
        lastSeenAt: new Date(at),
        expiresAt: new Date(s.expiresAt),
        ip: meta.ip?.slice(0, 100) ?? null,
        userAgent: meta.userAgent?.slice(0, 500) ?? null,
      });
      local.set(id, toLocal(s, at));
      await remember(s);
      const session: Session = {
        id,
        userId,
        createdAt: at,
        lastSeenAt: at,
        expiresAt: s.expiresAt,
      };
      await audit.act({ userId, ip: meta.ip }, 'session.sign_in');
      return { token, session };
    },

    /** The live session a cookie value stands for, or null. Never throws on bad input. */
    async verify(token: unknown): Promise<Session | null> {
      if (typeof token !== 'string' || token.length > MAX_MEMO_TOKEN) return null;
      const key = oneShotHash('sha256', token, 'base64url');
      const memo = verified.get(key);
      let s: Local | null = null;
      if (memo) {
        // Found exactly as on a miss; only the same stored hash still proves this cookie.
        s = held(memo.id) ?? (await find(memo.id));
        if (s && s.secretHash !== memo.secretHash) s = null;
        if (!s) verified.delete(key);
      }
      if (!s) {
        const parsed = parseSecretToken(token, 'sess');
        if (!parsed) return null;
        s = await find(parsed.id);
        // Constant-time: the hash is the secret's only proof.
        if (!s || !verifySecret(parsed.secret, s.hashBytes)) return null;
        const lives = Math.min(s.expiresAt, s.lastSeenAt + config.idleTimeoutMs) - now();
        if (lives > 0)
          verified.set(key, { id: s.id, secretHash: s.secretHash }, Math.min(lives, LOCAL_TTL_MS));
      }
      const at = now();
      if (expired(s.lastSeenAt, s.expiresAt, at)) {
        verified.delete(key);
        // Refused whatever happens next; the clean-up may wait for a store to come back.
        await revoke(s.id).catch((err) => deps.onError?.(err));
        return null;
      }
      touch(s, at);
      return {
        id: s.id,
        userId: s.userId,
        createdAt: s.createdAt,
        lastSeenAt: s.lastSeenAt,
        expiresAt: s.expiresAt,
      };
    },

    /**
     * Ends a session, unrecorded: a step of another change (a new sign-in replacing it). What a
     * member or administrator ends goes through `signOut` / `revokeOne` instead.
     */
    revoke,

    /** Ends a user's sessions, all or all but one (the one changing the password). */
    async revokeAllForUser(
      userId: string,
      options: { except?: string | null } = {},
    ): Promise<number> {
      const except = options.except ?? null;
      const where = except
        ? and(eq(sessions.userId, userId), ne(sessions.id, except))
        : eq(sessions.userId, userId);
      // Read, not deleted: a row goes only once its revocation reached everyone, so after a
      // failure the same call finds every session again.
      const found = await db.select({ id: sessions.id }).from(sessions).where(where);
      await end(
        userId,
        found.map((r) => r.id),
      );
      return found.length;
    },

    async listForUser(userId: string): Promise<SessionListing[]> {
      const at = now();
      const rows = await db
        .select()
        .from(sessions)
        .where(eq(sessions.userId, userId))
        .orderBy(asc(sessions.createdAt));
      return rows
        .filter((r) => !expired(r.lastSeenAt.getTime(), r.expiresAt.getTime(), at))
        .map((r) => ({
          id: r.id,
          createdAt: r.createdAt,
          lastSeenAt: r.lastSeenAt,
          expiresAt: r.expiresAt,
          ip: r.ip,
          userAgent: r.userAgent,
        }));
    },

    /** Stops retrying unfinished revocations (the instance is closing). */
    stop: revocations.stop,

    /**
     * Deletes expired rows (absolute or idle); run periodically. An expired session ends as a
     * revoked one does (sessions.revoked), so what hangs off it ends too: the provider session
     * and the services' back-channel logout.
     */
    async purgeExpired(): Promise<number> {
      const at = now();
      // Found first and ended like a revocation (tombstones, event, then the row), so a purge
      // that fails half-way is finished by the revocation retry, not lost.
      const expired = await db
        .select({ id: sessions.id, userId: sessions.userId })
        .from(sessions)
        .where(
          or(
            lt(sessions.expiresAt, new Date(at)),
            lt(sessions.lastSeenAt, new Date(at - config.idleTimeoutMs)),
          ),
        );
      const byUser = new Map<string, string[]>();
      for (const { id, userId } of expired) {
        byUser.set(userId, [...(byUser.get(userId) ?? []), id]);
      }
      for (const [userId, ids] of byUser) await end(userId, ids);
      return expired.length;
    },
  };

  return {
    ...service,
    ...createSessionEnding({
      audit,
      revoke,
      revokeAllForUser: service.revokeAllForUser,
      listForUser: service.listForUser,
    }),
  };
}

export type Sessions = ReturnType<typeof createSessions>;
