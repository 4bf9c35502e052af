// An API token in the wire form (snake_case, ISO times) the JSON API and the CLI's --json
// print; never its secret.

import type { ApiTokenInfo } from './apitokens.ts';

export function apiTokenJson(t: ApiTokenInfo) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    created_at: t.createdAt.toISOString(),
    expires_at: t.expiresAt?.toISOString() ?? null,
    expired: t.expired,
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    last_used_ip: t.lastUsedIp,
  };
}
