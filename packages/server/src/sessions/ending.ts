// What a member or an administrator does to end sessions, each recorded in the audit log with
// who did it: sign out, sign out one session, sign out every other session. The revocation
// itself (tombstones, event, row) is `revocation.ts`; these name the intent.

import type { Actor, Audit } from '../audit/audit.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';

export function createSessionEnding(deps: {
  audit: Audit;
  revoke: (id: string) => Promise<boolean>;
  revokeAllForUser: (userId: string, options: { except?: string | null }) => Promise<number>;
  listForUser: (userId: string) => Promise<Array<{ id: string }>>;
}) {
  const { audit } = deps;

  return {
    /**
     * Signs a member out of their session (`session.sign_out`). The sign-out takes effect
     * everywhere before it is recorded; while the database is down only the audit line is
     * lost: false then, for the caller to log. Any other failure throws.
     */
    async signOut(
      session: { id: string; userId: string },
      context: { ip?: string | null; via?: Actor['via']; details?: Record<string, unknown> } = {},
    ): Promise<boolean> {
      await deps.revoke(session.id);
      const actor: Actor = { userId: session.userId, ip: context.ip, via: context.via };
      try {
        await audit.act(actor, 'session.sign_out', null, context.details);
        return true;
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        return false;
      }
    },

    /**
     * Signs out one of `userId`'s sessions (`session.revoke`). False, with nothing changed or
     * recorded, when it is not one of theirs: someone else's session answers like an unknown one.
     */
    async revokeOne(actor: Actor, userId: string, sessionId: string): Promise<boolean> {
      const theirs = (await deps.listForUser(userId)).some((s) => s.id === sessionId);
      if (!theirs) return false;
      await deps.revoke(sessionId);
      // The owner is named only when someone else (an administrator) acted.
      await audit.act(
        actor,
        'session.revoke',
        `session:${sessionId}`,
        actor.userId === userId ? {} : { userId },
      );
      return true;
    },

    /** Signs the acting member out everywhere but `keep` (`session.revoke_others`). */
    async revokeOthers(actor: Actor & { userId: string }, keep: string): Promise<number> {
      const n = await deps.revokeAllForUser(actor.userId, { except: keep });
      await audit.act(actor, 'session.revoke_others');
      return n;
    },
  };
}
