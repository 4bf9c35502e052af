// The schemas of the API's resources, shared by routes and the OpenAPI document. Each
// resource's wire form is written once, in its subsystem's `json.ts` (`userJson`,
// `sessionJson`, `apiTokenJson`, `clientJson`), and printed by the API and the CLI alike.

import { z } from 'zod';
import type { ConnectedService } from '../../oidc/connected-services.ts';

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

/** What administrators see of a user. */
export const adminUserSchema = userSchema.extend({
  disabled: z.boolean(),
  permissions: z.array(z.string()),
  created_at: time,
});

export const sessionSchema = z.object({
  id: z.string(),
  created_at: time,
  last_seen_at: time,
  expires_at: time,
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  current: z.boolean().describe('The session making this request.'),
});

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
