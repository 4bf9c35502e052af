// Ending sessions everywhere: tombstones, the event, then the rows.
//
// A revocation reaches every instance or fails with nothing changed: a tombstone in the shared
// store first (if that fails, nothing has happened), then the event every instance's cache
// listens to, then the database row, each retried until it takes. This instance also keeps
// the ids it heard revoked (in-process tombstones), so a read that raced the revocation cannot
// bring a session back.

import { inArray } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import type { Kv } from '../store/kv.ts';
import { createLru } from '../store/lru.ts';
import { sessions } from './tables.ts';

/** How often a revocation's unfinished steps (event, database row) are tried again. */
const RETRY_MS = 2_000;

/** The shared-store keys of a session's copy and of its tombstone. */
export const kvKey = (id: string) => `sess:${id}`;
export const tombKey = (id: string) => `sess-revoked:${id}`;

/** A revocation whose tombstones are written but whose event or row deletion has not taken. */
interface Pending {
  readonly userId: string;
  readonly replacedBy?: string;
  published: boolean;
}

export function createRevocations(deps: {
  db: Db;
  kv: Kv;
  events: EventBus;
  /** Tombstones live as long as a session could have. */
  absoluteTimeoutMs: number;
  now: () => number;
  /** Drops revoked sessions from the caller's in-process cache. */
  onForget: (ids: readonly string[]) => void;
  onError?: (err: unknown) => void;
}) {
  const { db, kv, events, absoluteTimeoutMs, now } = deps;
  // Revoked ids, kept as long as the session could have lived. A read that raced the revocation
  // (an activity write-back, a database read on another instance) may put the session back in a
  // cache; these tombstones make sure it is still refused.
  const revokedHere = createLru<true>({ max: 100_000, ttlMs: absoluteTimeoutMs, now });

  // Revocations whose later steps are still to be retried, by session id.
  const pending = new Map<string, Pending>();
  let retry: NodeJS.Timeout | null = null;
  let retryFailing = false;
  let stopped = false;

  function forget(ids: readonly string[]) {
    deps.onForget(ids);
    for (const id of ids) revokedHere.set(id, true);
  }

  events.on((event) => {
    if (event.type === 'sessions.revoked') forget(event.sessionIds);
  });

  /**
   * The steps after the tombstones, for every pending revocation (or just `ids`): tell every
   * instance, then delete the rows. Throws when a step fails; what is left stays pending and
   * is retried every RETRY_MS until it takes.
   */
  async function settle(ids: readonly string[] = [...pending.keys()]) {
    const byRevocation = new Map<string, string[]>();
    for (const id of ids) {
      const p = pending.get(id);
      if (!p || p.published) continue;
      const key = `${p.userId}\n${p.replacedBy ?? ''}`;
      byRevocation.set(key, [...(byRevocation.get(key) ?? []), id]);
    }
    for (const group of byRevocation.values()) {
      await kv.del(...group.map(kvKey));
      const first = pending.get(group[0]!)!;
      await events.emit({
        type: 'sessions.revoked',
        userId: first.userId,
        sessionIds: group,
        ...(first.replacedBy ? { replacedBy: first.replacedBy } : {}),
      });
      for (const id of group) pending.get(id)!.published = true;
    }
    const published = ids.filter((id) => pending.get(id)?.published);
    if (published.length === 0) return;
    await db.delete(sessions).where(inArray(sessions.id, published));
    for (const id of published) pending.delete(id);
  }

  function scheduleRetry() {
    if (retry !== null || stopped || pending.size === 0) return;
    retry = setTimeout(() => {
      retry = null;
      settle()
        .then(
          () => {
            retryFailing = false;
          },
          (err) => {
            // Reported once per outage, not every RETRY_MS.
            if (!retryFailing) deps.onError?.(err);
            retryFailing = true;
          },
        )
        .finally(scheduleRetry);
    }, RETRY_MS);
    retry.unref();
  }

  /**
   * Ends sessions everywhere. The tombstones come first and decide: if they cannot be written
   * (the shared store is down), this throws with nothing changed; once they are, no instance
   * that reads the shared store accepts the sessions. Then the event drops them from every
   * instance's memory, then the rows go. A failure there still throws, so the caller hears
   * that not everything took, but the rest is retried until it does.
   */
  async function end(userId: string, ids: string[], replacedBy?: string) {
    if (ids.length === 0) return;
    await Promise.all(ids.map((id) => kv.set(tombKey(id), '1', absoluteTimeoutMs)));
    forget(ids);
    for (const id of ids) pending.set(id, { userId, replacedBy, published: false });
    try {
      await settle(ids);
    } catch (err) {
      scheduleRetry();
      // Told everyone, only the row is left: the revocation took effect everywhere.
      if (ids.every((id) => pending.get(id)?.published !== false)) {
        deps.onError?.(err);
        return;
      }
      throw err;
    }
  }

  return {
    end,
    forget,
    /** Was this session revoked, as far as this instance heard? */
    revokedHere: (id: string): boolean => revokedHere.get(id) === true,
    /** Stops retrying unfinished revocations (the instance is closing). */
    stop() {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      retry = null;
    },
  };
}

export type Revocations = ReturnType<typeof createRevocations>;
