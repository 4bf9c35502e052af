// Which provider session a Gatehouse session signed in to, so ending the Gatehouse session
// ends the provider session too (its grants, tokens and back-channel logouts). Kept in the
// shared store as `oidc:session-of:<session id>` for as long as the session can live; any
// instance may end the session.

import type { Kv } from '../store/kv.ts';
import { createLru } from '../store/lru.ts';

const key = (sessionId: string) => `oidc:session-of:${sessionId}`;

export function createSessionLink(deps: { kv: Kv; sessionLifetimeMs: number }) {
  const { kv, sessionLifetimeMs } = deps;
  // Links this instance already wrote, so a signed-in member's every request does not write.
  const recorded = createLru<true>({ max: 10_000, ttlMs: 3_600_000 });
  return {
    /** The Gatehouse session stands behind this provider session. */
    async link(sessionId: string, providerSessionUid: string): Promise<void> {
      const seen = `${sessionId}:${providerSessionUid}`;
      if (recorded.get(seen)) return;
      recorded.set(seen, true);
      await kv.set(key(sessionId), providerSessionUid, sessionLifetimeMs);
    },
    /** The provider session behind a Gatehouse session, if it signed in to one. */
    providerSessionOf(sessionId: string): Promise<string | null> {
      return kv.get(key(sessionId));
    },
    /** A session replaced by another (a refreshed sign-in): its provider session moves with it. */
    async move(from: string, to: string): Promise<void> {
      const uid = await kv.get(key(from));
      if (!uid) return;
      await kv.set(key(to), uid, sessionLifetimeMs);
      await kv.del(key(from));
    },
  };
}

export type SessionLink = ReturnType<typeof createSessionLink>;
