// Personal API tokens: one row per token a member (or an administrator for them) created. The
// token carries the row id and a secret; only the secret's SHA-256 is stored.

import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/tables.ts';

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** Hex SHA-256 of the token's secret. */
    secretHash: text('secret_hash').notNull(),
    /** Permission strings the token may use; a subset of what the member held at creation. */
    scopes: text('scopes').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
    /** Null: never expires (allowed, with a warning). */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** Written back at most once a minute per token, so "last used" is only that precise. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    lastUsedIp: text('last_used_ip'),
  },
  (t) => [index('api_tokens_user_id').on(t.userId)],
);
