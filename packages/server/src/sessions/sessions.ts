// Sessions: created at sign-in, checked on every request, ended by sign-out, by the user from
// another device, by a password change, or by expiry (idle or absolute).
//
// The check is the hottest path in Gatehouse, so it reads as a pipeline: parse the token
// (malformed → null, no I/O) → find the session (in-process cache → shared store → database)
// → compare the secret's hash in constant time → check expiry → note activity (throttled).

import { and, asc, eq, lt, ne } from 'drizzle-orm';
import { generateSecretToken, parseSecretToken, verifySecret } from '../crypto/secret-tokens.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import type { Kv } from '../store/kv.ts';
import { createLru } from '../store/lru.ts';
import { sessions } from './tables.ts';

export interface SessionConfig {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
}

export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
}

export interface SessionListing {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** As kept in the shared store (JSON). */
interface Cached extends Session {
  readonly secretHash: string;
}

/** As kept in process: the hash decoded once, not on every check. */
interface Local extends Cached {
  readonly hashBytes: Buffer;
}

/** How often activity is written back; idle expiry is only this precise, by design. */
const TOUCH_INTERVAL_MS = 60_000;
const LOCAL_TTL_MS = 60_000;
const MISSING = 'missing';

export function createSessions(deps: {
  db: Db;
  kv: Kv;
  events: EventBus;
  config: SessionConfig;
  now?: () => number;
  onError?: (err: unknown) => void;
}) {
  const { db, kv, events, config } = deps;
  const now = deps.now ?? Date.now;
  const local = createLru<Local | typeof MISSING>({ max: 50_000, ttlMs: LOCAL_TTL_MS, now });
  // Revoked ids, kept as long as the session could have lived. A read that raced the revocation
  // (an activity write-back, a database read on another instance) may put the session back in a
  // cache; these tombstones make sure it is still refused.
  const revokedHere = createLru<true>({ max: 100_000, ttlMs: config.absoluteTimeoutMs, now });
  const kvKey = (id: string) => `sess:${id}`;
  const tombKey = (id: string) => `sess-revoked:${id}`;

  function forget(ids: string[]) {
    for (const id of ids) {
      local.delete(id);
      revokedHere.set(id, true);
    }
  }

  events.on((event) => {
    if (event.type === 'sessions.revoked') forget(event.sessionIds);
  });

  function toLocal(s: Cached): Local {
    return { ...s, hashBytes: Buffer.from(s.secretHash, 'hex') };
  }

  function remember(s: Cached) {
    const { id, userId, secretHash, createdAt, lastSeenAt, expiresAt } = s;
    local.set(id, toLocal(s));
    const ttl = Math.min(expiresAt, lastSeenAt + config.idleTimeoutMs) - now();
    const shared: Cached = { id, userId, secretHash, createdAt, lastSeenAt, expiresAt };
    if (ttl > 0) return kv.set(kvKey(id), JSON.stringify(shared), ttl);
  }

  async function find(id: string): Promise<Local | null> {
    const hit = local.get(id);
    if (hit === MISSING) return null;
    if (hit) return hit;
    if (revokedHere.get(id)) return null;
    const [shared, tombstone] = await Promise.all([kv.get(kvKey(id)), kv.get(tombKey(id))]);
    if (tombstone) {
      revokedHere.set(id, true);
      return null;
    }
    if (shared) {
      const s = toLocal(JSON.parse(shared) as Cached);
      local.set(id, s);
      return s;
    }
    const [row] = await db.select().from(sessions).where(eq(sessions.id, id)).limit(1);
    if (!row) {
      // Unknown ids are remembered briefly so a flood of forged cookies costs one query each at most per minute.
      local.set(id, MISSING, 30_000);
      return null;
    }
    if (revokedHere.get(id)) return null; // revoked while we were reading
    const s: Cached = {
      id: row.id,
      userId: row.userId,
      secretHash: row.secretHash,
      createdAt: row.createdAt.getTime(),
      lastSeenAt: row.lastSeenAt.getTime(),
      expiresAt: row.expiresAt.getTime(),
    };
    await remember(s);
    return toLocal(s);
  }

  function expired(lastSeenAt: number, expiresAt: number, at: number): boolean {
    return at >= expiresAt || at >= lastSeenAt + config.idleTimeoutMs;
  }

  /** Writes activity back at most once a minute per session, off the request's path. */
  function touch(s: Local, at: number) {
    if (at - s.lastSeenAt < TOUCH_INTERVAL_MS) return;
    const next: Local = { ...s, lastSeenAt: at };
    local.set(s.id, next);
    Promise.all([
      db
        .update(sessions)
        .set({ lastSeenAt: new Date(at) })
        .where(eq(sessions.id, s.id)),
      remember(next),
    ]).catch((err) => deps.onError?.(err));
  }

  /** Ends sessions everywhere: tombstones first, so no cache can bring them back. */
  async function end(userId: string, ids: string[], replacedBy?: string) {
    if (ids.length === 0) return;
    forget(ids);
    await Promise.all(ids.map((id) => kv.set(tombKey(id), '1', config.absoluteTimeoutMs)));
    await kv.del(...ids.map(kvKey));
    await events.emit({
      type: 'sessions.revoked',
      userId,
      sessionIds: ids,
      ...(replacedBy ? { replacedBy } : {}),
    });
  }

  /** Ends a session; `replacedBy` names the session that replaces it (same member, same browser). */
  async function revoke(id: string, replacedBy?: string): Promise<boolean> {
    const [row] = await db
      .delete(sessions)
      .where(eq(sessions.id, id))
      .returning({ userId: sessions.userId });
    if (row) await end(row.userId, [id], replacedBy);
    return row !== undefined;
  }

  return {
    /** Starts a session; the token goes into the cookie and is never stored. */
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
      await remember(s);
      const session: Session = {
        id,
        userId,
        createdAt: at,
        lastSeenAt: at,
        expiresAt: s.expiresAt,
      };
      return { token, session };
    },

    /** The live session a cookie value stands for, or null. Never throws on bad input. */
    async verify(token: unknown): Promise<Session | null> {
      const parsed = parseSecretToken(token, 'sess');
      if (!parsed) return null;
      const s = await find(parsed.id);
      // Constant-time: the hash is the secret's only proof.
      if (!s || !verifySecret(parsed.secret, s.hashBytes)) return null;
      const at = now();
      if (expired(s.lastSeenAt, s.expiresAt, at)) {
        await revoke(s.id);
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
      const removed = await db.delete(sessions).where(where).returning({ id: sessions.id });
      await end(
        userId,
        removed.map((r) => r.id),
      );
      return removed.length;
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

    /**
     * Deletes expired rows (absolute or idle); run periodically. An expired session ends as a
     * revoked one does (sessions.revoked), so what hangs off it ends too: the provider session
     * and the services' back-channel logout.
     */
    async purgeExpired(): Promise<number> {
      const at = now();
      const removed = await db
        .delete(sessions)
        .where(lt(sessions.expiresAt, new Date(at)))
        .returning({ id: sessions.id, userId: sessions.userId });
      const idle = await db
        .delete(sessions)
        .where(lt(sessions.lastSeenAt, new Date(at - config.idleTimeoutMs)))
        .returning({ id: sessions.id, userId: sessions.userId });
      const byUser = new Map<string, string[]>();
      for (const { id, userId } of [...removed, ...idle]) {
        byUser.set(userId, [...(byUser.get(userId) ?? []), id]);
      }
      for (const [userId, ids] of byUser) await end(userId, ids);
      return removed.length + idle.length;
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
