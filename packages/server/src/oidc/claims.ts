// What the provider says about a member, by scope: the one mapping ID tokens, userinfo and JWT
// access tokens share. Change a claim here.

import type { User } from '../accounts/accounts.ts';
import type { OidcHooks } from './hooks.ts';

export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'preferred_username', 'picture', 'updated_at'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
};

/**
 * The member's claims for the scopes granted: `profile` → name, username, picture; `email` →
 * email and whether it is verified; `groups` → group paths (and, in access tokens,
 * `permissions`). `openid` alone says only who the member is (`sub`).
 */
export async function memberClaims(
  user: User,
  scopes: ReadonlySet<string>,
  hooks: Pick<OidcHooks, 'groupsOf' | 'permissionsOf'>,
  opts: { permissions: boolean },
): Promise<Record<string, unknown>> {
  return {
    sub: user.id,
    ...(scopes.has('profile')
      ? {
          name: user.name ?? user.username,
          preferred_username: user.username,
          ...(user.pictureUrl ? { picture: user.pictureUrl } : {}),
        }
      : {}),
    ...(scopes.has('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
    ...(scopes.has('groups') ? { groups: await hooks.groupsOf(user.id) } : {}),
    ...(scopes.has('groups') && opts.permissions
      ? { permissions: await hooks.permissionsOf(user.id) }
      : {}),
  };
}

export const scopeSet = (scope: unknown) =>
  new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean) : []);
