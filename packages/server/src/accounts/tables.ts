// Accounts: users and the permissions granted to them directly.

import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  /** As the user typed it (NFKC-normalised, case kept), shown on pages. */
  username: text('username').notNull(),
  /** NFKC + case-folded: what uniqueness and look-ups use, so "Alice" and "ａｌｉｃｅ" collide. */
  usernameKey: text('username_key').notNull().unique(),
  email: text('email').notNull(),
  emailKey: text('email_key').notNull().unique(),
  emailVerified: timestamp('email_verified_at', { withTimezone: true }),
  name: text('name'),
  pictureUrl: text('picture_url'),
  /** argon2id PHC string; null for accounts that cannot sign in with a password. */
  passwordHash: text('password_hash'),
  passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
});

export const userPermissions = pgTable(
  'user_permissions',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    permission: text('permission').notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.permission] }),
    index('user_permissions_permission').on(t.permission),
  ],
);

/** One-time secrets: first-administrator setup links, password resets, email verifications. */
export const oneTimeTokens = pgTable('one_time_tokens', {
  id: uuid('id').primaryKey(),
  kind: text('kind').notNull(),
  secretHash: text('secret_hash').notNull(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
});
