// Ending provider sessions: when a Gatehouse session ends (sign-out, revocation, a disabled
// member), the provider session it signed in to ends too, with back-channel logout to every
// client of it, then its tokens and grants. While a store is down this cannot be done; it is
// retried every 2 s until it is, so a sign-out made during an outage still ends the services'
// sessions.

import type { Logger } from '../config/logger.ts';
import type { EventBus } from '../store/events.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import { backchannelLogout } from './connected-services.ts';
import type { OidcProvider } from './provider.ts';
import type { SessionLink } from './session-link.ts';

const RETRY_MS = 2_000;

export function createSessionEnds(deps: {
  /** The live provider (it is rebuilt when signing keys rotate). */
  current: () => OidcProvider;
  link: Pick<SessionLink, 'providerSessionOf'>;
  events: EventBus;
  logger: Logger;
}) {
  const { logger } = deps;

  /** Back-channel logout to every client of the provider session, then its tokens and grants. */
  async function endProviderSession(uid: string) {
    const { provider, adapters } = deps.current();
    const session = await provider.Session.findByUid(uid);
    if (!session) return;
    const accountId = session.accountId;
    for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
      // Tokens first: a client acting on the logout token finds them already dead.
      if (authorization.grantId) await adapters.revokeGrant(authorization.grantId);
      if (accountId)
        await backchannelLogout(provider, logger, clientId, accountId, authorization.sid);
    }
    await session.destroy();
    if (accountId) await deps.events.emit({ type: 'oidc.session_ended', userId: accountId });
  }

  const unended = new Set<string>();
  let retryEnds: NodeJS.Timeout | null = null;
  /** The provider session of an ended Gatehouse session, ended too (retried through an outage). */
  async function endProviderSessionOf(sessionId: string) {
    try {
      const uid = await deps.link.providerSessionOf(sessionId);
      if (uid) await endProviderSession(uid);
      unended.delete(sessionId);
    } catch (err) {
      if (!isStoreUnavailable(err)) {
        unended.delete(sessionId);
        logger.error({ err }, 'ending the provider session failed');
        return;
      }
      if (!unended.has(sessionId))
        logger.warn({ reason: (err as Error).message }, 'provider session end deferred');
      unended.add(sessionId);
      retryEnds ??= setTimeout(() => {
        retryEnds = null;
        for (const id of [...unended]) void endProviderSessionOf(id);
      }, RETRY_MS);
      retryEnds.unref();
    }
  }

  return {
    endProviderSession,
    endProviderSessionOf,
    /** Every provider session of a member (disabled, or gone). */
    async endSessionsOfAccount(userId: string) {
      for (const s of await deps.current().adapters.sessionsOf(userId)) {
        if (typeof s.uid === 'string') await endProviderSession(s.uid);
      }
    },
    close() {
      if (retryEnds) clearTimeout(retryEnds);
    },
  };
}
