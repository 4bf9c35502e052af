import type { User } from '../accounts/accounts.ts';
import type { ViewUser } from './views/pages.ts';

export function viewUser(user: User | null): ViewUser | null {
  if (!user) return null;
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    pictureUrl: user.pictureUrl,
    isAdmin: user.isAdmin,
  };
}
