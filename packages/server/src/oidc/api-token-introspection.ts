// Introspection (RFC 7662) of Gatehouse API tokens, which the provider does not know: the
// same answer shape as for its own tokens, for a client that authenticated (client-auth.ts).
// A token whose member was disabled is inactive.

import { GATEHOUSE_AUDIENCE, type Principals } from '../principals/principals.ts';

export function createApiTokenIntrospection(deps: {
  issuer: string;
  principals: Pick<Principals, 'fromBearer'>;
  groupsOf: (userId: string) => Promise<string[]>;
  /** The client hears of the member's revocations from now on (connected-services.ts). */
  noteIntrospection: (clientId: string, userId: string) => Promise<void>;
}) {
  return async (
    clientId: string,
    token: string,
    context: { address: string },
  ): Promise<Record<string, unknown>> => {
    const found = await deps.principals.fromBearer(token, GATEHOUSE_AUDIENCE, context);
    if ('refused' in found || found.via !== 'api_token') return { active: false };
    const { user, scopes, expiresAt } = found;
    await deps.noteIntrospection(clientId, user.id);
    return {
      active: true,
      token_type: 'gatehouse_api_token',
      iss: deps.issuer,
      sub: user.id,
      username: user.username,
      preferred_username: user.username,
      name: user.name ?? user.username,
      email: user.email,
      // As in ID tokens: a service may treat the address as proof only when this is true.
      email_verified: user.emailVerified,
      ...(user.pictureUrl ? { picture: user.pictureUrl } : {}),
      scope: scopes.join(' '),
      permissions: scopes.filter((s) => s.includes(':') && !s.startsWith('account:')),
      groups: await deps.groupsOf(user.id),
      ...(expiresAt ? { exp: Math.floor(expiresAt / 1000) } : {}),
    };
  };
}
