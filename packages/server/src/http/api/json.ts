// The API's resources as JSON (snake_case, ISO times) and their schemas, shared by routes and
// the OpenAPI document.

import { z } from 'zod';
import type { User } from '../../accounts/accounts.ts';
import { type ApiTokenInfo, apiTokenJson } from '../../apitokens/apitokens.ts';
import type { ConnectedService } from '../../oidc/connected-services.ts';
import type { SessionListing } from '../../sessions/sessions.ts';

const time = z.string().describe('ISO 8601 date and time (UTC)');

export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string().nullable(),
  email: z.string(),
  email_verified: z.boolean(),
  picture: z.string().nullable(),
  is_admin: z.boolean(),
});

export function userJson(user: User): z.input<typeof userSchema> {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    email_verified: user.emailVerified,
    picture: user.pictureUrl,
    is_admin: user.isAdmin,
  };
}

/** What administrators see of a user. */
export const adminUserSchema = userSchema.extend({
  disabled: z.boolean(),
  permissions: z.array(z.string()),
  created_at: time,
});

export function adminUserJson(user: User): z.input<typeof adminUserSchema> {
  return {
    ...userJson(user),
    disabled: user.disabled,
    permissions: [...user.permissions],
    created_at: user.createdAt.toISOString(),
  };
}

export const sessionSchema = z.object({
  id: z.string(),
  created_at: time,
  last_seen_at: time,
  expires_at: time,
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  current: z.boolean().describe('The session making this request.'),
});

export function sessionJson(
  s: SessionListing,
  currentId: string | null,
): z.input<typeof sessionSchema> {
  return {
    id: s.id,
    created_at: s.createdAt.toISOString(),
    last_seen_at: s.lastSeenAt.toISOString(),
    expires_at: s.expiresAt.toISOString(),
    ip: s.ip,
    user_agent: s.userAgent,
    current: s.id === currentId,
  };
}

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  created_at: time,
  expires_at: time.nullable().describe('Null: never expires.'),
  expired: z.boolean(),
  last_used_at: time.nullable().describe('Recorded at most once a minute.'),
  last_used_ip: z.string().nullable(),
});

export function tokenJson(t: ApiTokenInfo): z.input<typeof tokenSchema> {
  return apiTokenJson(t);
}

/** A service the member allowed to use their account (a remembered consent). */
export const connectedServiceSchema = z.object({
  client_id: z.string(),
  name: z.string(),
  logo_uri: z.string().nullable(),
  scopes: z.array(z.string()).describe('What the member allowed it to see.'),
  allowed_at: time,
});

export function connectedServiceJson(s: ConnectedService): z.input<typeof connectedServiceSchema> {
  return {
    client_id: s.clientId,
    name: s.name,
    logo_uri: s.logoUri,
    scopes: s.scopes,
    allowed_at: s.allowedAt.toISOString(),
  };
}

/** Sort key for in-memory pagination: creation time, then id. */
export const byCreation = (item: { createdAt: Date; id: string }): [number, string] => [
  item.createdAt.getTime(),
  item.id,
];
