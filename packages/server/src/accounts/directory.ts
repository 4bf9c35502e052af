// The member directory: what other subsystems may read about accounts (that an account
// exists, its username and display name) without reaching into the accounts tables.

import { asc, eq, inArray } from 'drizzle-orm';
import { UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import { users } from './tables.ts';

export interface DirectoryEntry {
  id: string;
  username: string;
  name: string | null;
}

/** Whether an account with this id exists (disabled accounts included). */
export async function accountExists(db: Db, userId: string): Promise<boolean> {
  if (typeof userId !== 'string' || !UUID.test(userId)) return false;
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  return row !== undefined;
}

/**
 * The accounts with these ids, in username order (the order member lists are shown in);
 * ids without an account are left out.
 */
export async function directoryEntries(db: Db, ids: readonly string[]): Promise<DirectoryEntry[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  return db
    .select({ id: users.id, username: users.username, name: users.name })
    .from(users)
    .where(inArray(users.id, unique))
    .orderBy(asc(users.usernameKey));
}
