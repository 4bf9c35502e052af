// The OIDC client registry.

import { sql } from 'drizzle-orm';
import { boolean, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const oidcClients = pgTable('oidc_clients', {
  /** The client_id: a UUID, so a secret token (gth_cs_…) can carry it. */
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  logoUri: text('logo_uri'),
  /** Where the portal tile points; no tile without one. */
  launchUrl: text('launch_url'),
  firstParty: boolean('first_party').notNull().default(false),
  /** SHA-256 of the secret part of the client secret; null for public clients. */
  secretHash: text('secret_hash'),
  tokenEndpointAuthMethod: text('token_endpoint_auth_method').notNull(),
  redirectUris: text('redirect_uris').array().notNull(),
  postLogoutRedirectUris: text('post_logout_redirect_uris').array().notNull(),
  grantTypes: text('grant_types').array().notNull(),
  responseTypes: text('response_types').array().notNull(),
  /** Scopes the client may ask for. */
  scopes: text('scopes').array().notNull(),
  /** Who may sign in: an access expression; null means every member. */
  accessRule: text('access_rule'),
  /**
   * Resource indicators (RFC 8707) the client may ask tokens for: absolute URLs, usually the
   * origin of a service behind forward auth or an API. None by default.
   */
  resources: text('resources').array().notNull().default(sql`'{}'::text[]`),
  /** Other registered metadata (jwks_uri, backchannel_logout_uri, signing algorithms…). */
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  /** admin (CLI, API) or dynamic (RFC 7591 registration). */
  source: text('source').notNull().default('admin'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
});
