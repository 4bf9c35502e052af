// Signing keys for ID tokens, JWT access tokens and logout tokens.

import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const signingKeys = pgTable(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    alg: text('alg').notNull(),
    /** next: published, not signing yet; current: signing; retired: published until expiresAt. */
    state: text('state').$type<'next' | 'current' | 'retired'>().notNull(),
    publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
    /** The private JWK sealed with the instance secret key (AES-256-GCM). */
    privateJwk: text('private_jwk').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
    activatedAt: timestamp('activated_at', { withTimezone: true }),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
    /** A retired key is removed after this: every token it signed has expired by then. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
  },
  (t) => [index('signing_keys_alg_state').on(t.alg, t.state)],
);
