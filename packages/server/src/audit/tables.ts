// The audit log: who did what, when, and from where.

import { sql } from 'drizzle-orm';
import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`now()`),
    /** The acting user; null for the system or an anonymous visitor. */
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    /** What was acted on, e.g. "user:<uuid>". */
    target: text('target'),
    ip: text('ip'),
    details: jsonb('details').$type<Record<string, unknown>>(),
  },
  (t) => [index('audit_log_at').on(t.at), index('audit_log_actor').on(t.actorId)],
);
