// A user in the wire form (snake_case, ISO times) the JSON API and the CLI's --json print.

import type { User } from './user.ts';

/** What a member sees of themselves, and what others are shown of them. */
export function userJson(user: User) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    email_verified: user.emailVerified,
    picture: user.pictureUrl,
    is_admin: user.isAdmin,
  };
}

/** What administrators see of a user. */
export function adminUserJson(user: User) {
  return {
    ...userJson(user),
    disabled: user.disabled,
    permissions: [...user.permissions],
    created_at: user.createdAt.toISOString(),
  };
}
