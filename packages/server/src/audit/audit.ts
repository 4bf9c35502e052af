// The audit log: every change to who may do what is recorded with who, what, when and where.
// The services that make a change record it themselves (`act`), so every surface that reaches
// them (pages, API, CLI) leaves the same entry.

import { desc } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { auditLog } from './tables.ts';

/** The surface a change came through, recorded as `details.via` when the actor names one. */
export type Via = 'cli' | 'api' | 'account' | 'oidc';

/**
 * Who is acting, for authorisation and the audit log. `userId: null` is the system (the CLI,
 * set-up). `ip` is where the request came from; `via` the surface, when the entry names it.
 */
export interface Actor {
  userId: string | null;
  ip?: string | null;
  via?: Via;
  /**
   * false: act without administrator rights even if the user has them — an API token that
   * does not carry gatehouse:admin. Absent: the user's own rights. (Read by `access`.)
   */
  admin?: boolean;
}

/** The command line (and set-up): no user, no address. */
export const CLI_ACTOR: Actor = Object.freeze({ userId: null, via: 'cli' });

export interface AuditEntry {
  actorId: string | null;
  action: string;
  target?: string | null;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

export function createAudit(deps: {
  db: Db;
  now?: () => number;
  onError?: (err: unknown) => void;
}) {
  const now = deps.now ?? Date.now;

  async function record(entry: AuditEntry): Promise<void> {
    await deps.db.insert(auditLog).values({
      at: new Date(now()),
      actorId: entry.actorId,
      action: entry.action,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      details: entry.details ?? null,
    });
  }

  return {
    record,

    /**
     * Records what an actor did: `via` (when the actor names one) leads the details; no
     * details at all is recorded as null.
     */
    async act(
      actor: Actor,
      action: string,
      target?: string | null,
      details: Record<string, unknown> = {},
    ): Promise<void> {
      const all = { ...(actor.via ? { via: actor.via } : {}), ...details };
      await record({
        actorId: actor.userId,
        action,
        target: target ?? null,
        ip: actor.ip ?? null,
        details: Object.keys(all).length > 0 ? all : null,
      });
    },

    async recent(limit = 100) {
      return deps.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(limit);
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
