// The scopes the JSON API's routes ask for. A token carries scopes chosen at creation from the
// permissions its member holds; `account:read`, `account:write`, `groups:read`, `groups:write`
// and `proxy` (forward auth; see apitokens.ts) are held by every member (they are not grants; what a member may do in a group
// is decided by the access domain), `gatehouse:admin` only by administrators. Routes added by other
// subsystems may ask for any permission string.

import { ADMIN_PERMISSION } from '../../accounts/accounts.ts';
import { MEMBER_SCOPES } from '../../apitokens/apitokens.ts';

export const SCOPES = {
  'account:read': 'Read your own profile, sessions and API tokens.',
  'account:write': 'Change your own profile, sign out sessions, create and revoke API tokens.',
  'groups:read':
    'See your group memberships, and the members and invitations of groups you manage.',
  'groups:write':
    'Accept invitations and leave groups; in groups you manage, add and remove members, invite, create, rename, move and delete subgroups.',
  proxy:
    'Open the services behind the proxy (forward auth) as you; their access rules see only the permissions this token carries.',
  [ADMIN_PERMISSION]:
    'Administer Gatehouse: users, their sessions and tokens (administrators only).',
} as const;

export const ACCOUNT_READ = 'account:read';
export const ACCOUNT_WRITE = 'account:write';
export const GROUPS_READ = 'groups:read';
export const GROUPS_WRITE = 'groups:write';
export const ADMIN_SCOPE = ADMIN_PERMISSION;

export function isMemberScope(scope: string): boolean {
  return (MEMBER_SCOPES as readonly string[]).includes(scope);
}
