// Who is asking, as the provider needs to know it: the Gatehouse session behind a browser's
// cookie (for the one-session interactions and logout), and the member behind a Gatehouse API
// token presented at introspection. The same two questions a principals module will answer
// for all of Gatehouse; until then they are answered here, each in one small function, so
// switching the provider over is one line each.

import type { Accounts, User } from '../accounts/accounts.ts';
import type { ApiTokens } from '../apitokens/apitokens.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { SessionRef } from './hooks.ts';

export function createOidcPrincipals(deps: {
  sessions: Pick<Sessions, 'verify'>;
  accounts: Pick<Accounts, 'findById'>;
  apiTokens: Pick<ApiTokens, 'verify'>;
}) {
  return {
    /** Session token → live session → active member: the session, or null. */
    async fromSessionToken(token: string | undefined): Promise<SessionRef | null> {
      if (!token) return null;
      const session = await deps.sessions.verify(token);
      if (!session) return null;
      const user = await deps.accounts.findById(session.userId);
      if (!user || user.disabled) return null;
      return session;
    },

    /** API token → active member, with the token's scopes and expiry; null if either fails. */
    async fromApiToken(
      token: string,
      context: { address: string },
    ): Promise<{ user: User; scopes: string[]; expiresAt: number | null } | null> {
      const verified = await deps.apiTokens.verify(token, context);
      const user = verified ? await deps.accounts.findById(verified.userId) : null;
      if (!verified || !user || user.disabled) return null;
      return { user, scopes: verified.scopes, expiresAt: verified.expiresAt };
    },
  };
}

export type OidcPrincipals = ReturnType<typeof createOidcPrincipals>;
