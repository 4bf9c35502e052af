// The scopes the JSON API's routes ask for. A token carries scopes chosen at creation from the
// permissions its member holds; `account:read` and `account:write` are held by every member
// (they are not grants), `gatehouse:admin` only by administrators. Routes added by other
// subsystems may ask for any permission string.

import { ADMIN_PERMISSION } from '../../accounts/accounts.ts';
import { MEMBER_SCOPES } from '../../apitokens/apitokens.ts';

export const SCOPES = {
  'account:read': 'Read your own profile, sessions and API tokens.',
  'account:write': 'Change your own profile, sign out sessions, create and revoke API tokens.',
  [ADMIN_PERMISSION]:
    'Administer Gatehouse: users, their sessions and tokens (administrators only).',
} as const;

export const ACCOUNT_READ = 'account:read';
export const ACCOUNT_WRITE = 'account:write';
export const ADMIN_SCOPE = ADMIN_PERMISSION;

export function isMemberScope(scope: string): boolean {
  return (MEMBER_SCOPES as readonly string[]).includes(scope);
}
