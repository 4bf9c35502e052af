// `gatehouse user list | show | disable | enable | reset-link`: what the admin API does for
// users, from the command line (`user create` is in user-create.ts).

import { adminUserJson } from '../../accounts/json.ts';
import type { User } from '../../accounts/user.ts';
import { CLI_ACTOR } from '../../audit/audit.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';
import type { Io } from '../output.ts';
import { UsageError } from '../output.ts';
import { findUser } from './find.ts';

const PAGE = 200;

function userRef(positionals: string[]): string {
  const [ref] = positionals;
  if (!ref) throw new UsageError('name the user: a username or a user id');
  return ref;
}

function describeUser(user: User): string {
  const flags = [user.isAdmin ? 'administrator' : null, user.disabled ? 'DISABLED' : null]
    .filter(Boolean)
    .join(', ');
  return `${user.username.padEnd(20)} ${user.id}  ${user.email}${flags ? `  (${flags})` : ''}`;
}

export const userListCommand: Command = {
  path: ['user', 'list'],
  summary: 'list users',
  usage: `Usage: gatehouse user list [--json]

Lists every user in username order.

Options:
  --json    print {"users": [{"id", "username", "name", "email", "is_admin", "disabled",
            "permissions", "created_at", …}]}, each as the admin API shows it`,
  options: {},
  async run(values, io) {
    return withGatehouse(io, async (gh) => {
      const all: User[] = [];
      let after: string | null = null;
      do {
        const page = await gh.accounts.list({ after, limit: PAGE });
        all.push(...page.users);
        after = page.next;
      } while (after !== null);
      if (values.json) io.out(JSON.stringify({ users: all.map(adminUserJson) }));
      else if (all.length === 0) io.out('There are no users yet.');
      else for (const user of all) io.out(describeUser(user));
      return 0;
    });
  },
};

export const userShowCommand: Command = {
  path: ['user', 'show'],
  summary: 'show a user, their groups and sessions',
  positionals: 1,
  usage: `Usage: gatehouse user show <user> [--json]

Shows a user (by username or id): their profile, permissions, groups and how many sessions
they have open.

Options:
  --json    print the user as the admin API does, with "groups" [{"path", "role"}] and
            "sessions" (the number open)`,
  options: {},
  async run(values, io, positionals) {
    const ref = userRef(positionals);
    return withGatehouse(io, async (gh) => {
      const user = await findUser(gh, ref);
      const groups = await gh.access.membershipsOf(user.id);
      const sessions = await gh.sessions.listForUser(user.id);
      if (values.json) {
        io.out(
          JSON.stringify({
            ...adminUserJson(user),
            groups: groups.map((m) => ({ path: m.group.path, role: m.role })),
            sessions: sessions.length,
          }),
        );
        return 0;
      }
      io.out(`${user.username} (${user.id})`);
      io.out(`  name:        ${user.name ?? '-'}`);
      io.out(`  email:       ${user.email}${user.emailVerified ? ' (verified)' : ''}`);
      io.out(`  status:      ${user.disabled ? 'disabled' : 'active'}`);
      io.out(`  created:     ${user.createdAt.toISOString()}`);
      io.out(`  permissions: ${[...user.permissions].join(' ') || '-'}`);
      io.out(
        `  groups:      ${groups.map((m) => `${m.group.path}${m.role === 'owner' ? ' (owner)' : ''}`).join(', ') || '-'}`,
      );
      io.out(`  sessions:    ${sessions.length}`);
      return 0;
    });
  },
};

function setDisabledCommand(disabled: boolean): Command {
  const verb = disabled ? 'disable' : 'enable';
  return {
    path: ['user', verb],
    summary: disabled ? 'disable a user: they can no longer sign in' : 'enable a disabled user',
    positionals: 1,
    usage: `Usage: gatehouse user ${verb} <user> [--json]

${
  disabled
    ? `Disables a user (by username or id). Their sessions, API tokens and tokens issued to
services are refused at once on every Gatehouse instance; they cannot sign in until enabled.`
    : 'Enables a disabled user (by username or id): they can sign in again.'
}

Options:
  --json    print the user as the admin API does`,
    options: {},
    async run(values, io: Io, positionals) {
      const ref = userRef(positionals);
      return withGatehouse(io, async (gh) => {
        const user = await findUser(gh, ref);
        await gh.accounts.setDisabled(user.id, disabled, CLI_ACTOR);
        const after = (await gh.accounts.findById(user.id)) ?? user;
        if (values.json) io.out(JSON.stringify(adminUserJson(after)));
        else io.out(`${disabled ? 'Disabled' : 'Enabled'} ${user.username} (${user.id}).`);
        return 0;
      });
    },
  };
}

export const userDisableCommand = setDisabledCommand(true);
export const userEnableCommand = setDisabledCommand(false);

export const userResetLinkCommand: Command = {
  path: ['user', 'reset-link'],
  summary: 'make a one-time password reset link for a user',
  positionals: 1,
  usage: `Usage: gatehouse user reset-link <user> [--json]

Makes a one-time link (valid 72 hours) where the user (by username or id) sets a new
password. Their current password keeps working until then. Hand the link to them privately.

Options:
  --json    print {"reset_url", "expires_at"}`,
  options: {},
  async run(values, io, positionals) {
    const ref = userRef(positionals);
    return withGatehouse(io, async (gh) => {
      const user = await findUser(gh, ref);
      const link = await gh.oneTimeTokens.resetLink(user.id, CLI_ACTOR);
      const url = `${gh.config.issuer}/reset/${link.token}`;
      if (values.json)
        io.out(JSON.stringify({ reset_url: url, expires_at: link.expiresAt.toISOString() }));
      else
        io.out(
          `${user.username} sets a new password at this one-time link (valid until ${link.expiresAt.toISOString()}):\n  ${url}`,
        );
      return 0;
    });
  },
};

export const USER_COMMANDS = [
  userListCommand,
  userShowCommand,
  userDisableCommand,
  userEnableCommand,
  userResetLinkCommand,
];
