// A session in the wire form (snake_case, ISO times) the JSON API prints.

import type { SessionListing } from './sessions.ts';

/** `current`: the session making the request (`currentId`). */
export function sessionJson(s: SessionListing, currentId: string | null) {
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
