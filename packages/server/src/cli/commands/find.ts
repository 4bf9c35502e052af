// What commands name on the command line: a user by username or id.

import type { Gatehouse } from '../../gatehouse.ts';
import { UUID } from '../../patterns.ts';
import { CommandError } from '../output.ts';

/** A user named by username or id. */
export async function findUser(gh: Gatehouse, ref: string) {
  const user = UUID.test(ref)
    ? await gh.accounts.findById(ref.toLowerCase())
    : await gh.accounts.findByUsername(ref);
  if (!user) throw new CommandError(`there is no user "${ref.slice(0, 100)}"`);
  return user;
}
