import { adminUserJson } from '../../accounts/json.ts';
import { SET_PASSWORD_LINK_TTL_MS } from '../../accounts/one-time-tokens.ts';
import { CLI_ACTOR } from '../../audit/audit.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';
import { UsageError } from '../output.ts';

export const userCreateCommand: Command = {
  path: ['user', 'create'],
  summary: 'create a user',
  usage: `Usage: gatehouse user create --username U --email E [--name N] [--admin] [--password-stdin] [--json]

Creates a user. The password is never taken from the command line (it would show in the
process list and shell history): with --password-stdin it is read from standard input,
  printf '%s' "$PASSWORD" | gatehouse user create --username ada --email ada@example.org --password-stdin
and without it Gatehouse prints a one-time link (valid 72 hours) where the user chooses one.

Options:
  --username U        unique, case-insensitive: letters a-z, digits, ".", "_", "-"
  --email E           unique email address
  --name N            display name
  --admin             grant the gatehouse:admin permission
  --password-stdin    read the password from standard input (one trailing newline is dropped)
  --json              print the user as the admin API does ({"id", "username", "email",
                      "is_admin", …}) with "admin" and "set_password_url"?`,
  options: {
    username: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
    admin: { type: 'boolean' },
    'password-stdin': { type: 'boolean' },
  },
  readsStdin: (values) => values['password-stdin'] === true,
  async run(values, io) {
    if (typeof values.username !== 'string') throw new UsageError('--username is required');
    if (typeof values.email !== 'string') throw new UsageError('--email is required');
    const password = values['password-stdin'] ? (await io.readStdin()).replace(/\r?\n$/, '') : null;
    return withGatehouse(io, async (gh) => {
      const user = await gh.accounts.create(
        {
          username: values.username as string,
          email: values.email as string,
          name: (values.name as string | undefined) ?? null,
          password,
          admin: values.admin === true,
        },
        CLI_ACTOR,
      );
      let setPasswordUrl: string | null = null;
      if (password === null) {
        // Part of creating the user: not recorded on its own.
        const token = await gh.oneTimeTokens.issue('rst', {
          userId: user.id,
          ttlMs: SET_PASSWORD_LINK_TTL_MS,
        });
        setPasswordUrl = `${gh.config.issuer}/reset/${token}`;
      }
      if (values.json) {
        io.out(
          // The user as the admin API shows it; "admin" kept for scripts written against it.
          JSON.stringify({
            ...adminUserJson(user),
            admin: user.isAdmin,
            ...(setPasswordUrl ? { set_password_url: setPasswordUrl } : {}),
          }),
        );
      } else {
        io.out(
          `Created user ${user.username} (${user.id})${user.isAdmin ? ' with administrator rights' : ''}.`,
        );
        if (setPasswordUrl)
          io.out(
            `They choose a password at this one-time link (valid 72 hours):\n  ${setPasswordUrl}`,
          );
      }
      return 0;
    });
  },
};
