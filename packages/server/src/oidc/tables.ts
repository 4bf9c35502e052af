// The OIDC provider's durable records (grants, refresh tokens, provider sessions, registration
// tokens) and the members' remembered consents. Short-lived records (codes, interactions,
// access tokens, replay markers) live in the key-value store instead.

import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/tables.ts';
import { oidcClients } from '../clients/tables.ts';

export const oidcPayloads = pgTable(
  'oidc_payloads',
  {
    model: text('model').notNull(),
    id: text('id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    grantId: text('grant_id'),
    uid: text('uid'),
    userCode: text('user_code'),
    accountId: text('account_id'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.id] }),
    index('oidc_payloads_grant').on(t.grantId),
    index('oidc_payloads_uid').on(t.uid),
    index('oidc_payloads_account').on(t.accountId),
    index('oidc_payloads_expires').on(t.expiresAt),
  ],
);

/** What a member agreed to share with a client, so the consent screen is not shown again. */
export const oidcConsents = pgTable(
  'oidc_consents',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: uuid('client_id')
      .notNull()
      .references(() => oidcClients.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array().notNull(),
    /** Resource indicators the member allowed the client tokens for (named on the consent page). */
    resources: text('resources').array().notNull().default(sql`'{}'::text[]`),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.userId, t.clientId] })],
);
