// The audit log: every change to who may do what is recorded with who, what, when and where.

import { desc } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { auditLog } from './tables.ts';

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
  return {
    async record(entry: AuditEntry): Promise<void> {
      await deps.db.insert(auditLog).values({
        at: new Date(now()),
        actorId: entry.actorId,
        action: entry.action,
        target: entry.target ?? null,
        ip: entry.ip ?? null,
        details: entry.details ?? null,
      });
    },
    async recent(limit = 100) {
      return deps.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(limit);
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
