// `gatehouse grant | revoke` (a permission or a role, to a user) and `gatehouse group list |
// create | members | add-member | remove-member`: the access subsystem from the command line.
// The CLI acts with administrator rights (CLI_ACTOR); the services record the audit entries.

import { groupJson, memberJson } from '../../access/json.ts';
import type { Grant } from '../../access/types.ts';
import { CLI_ACTOR } from '../../audit/audit.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';
import { UsageError } from '../output.ts';
import { findUser } from './find.ts';

function grantFrom(values: Record<string, unknown>): Grant {
  const permission = values.permission as string | undefined;
  const role = values.role as string | undefined;
  if ((permission === undefined) === (role === undefined))
    throw new UsageError('give either --permission or --role');
  return permission !== undefined ? { permission } : { role: role! };
}

function grantCommand(verb: 'grant' | 'revoke'): Command {
  const granting = verb === 'grant';
  return {
    path: [verb],
    summary: granting
      ? 'grant a user a permission or a role'
      : 'take a permission or a role from a user',
    usage: `Usage: gatehouse ${verb} --user U (--permission P | --role R) [--json]

${
  granting
    ? 'Grants the user a permission (such as upload:write, or gatehouse:admin) or a named role.'
    : 'Takes from the user a permission or a role granted to them directly (not through a group).'
} Every Gatehouse instance decides with the change at once.

Options:
  --user U          username or user id
  --permission P    a permission string
  --role R          the name of a role
  --json            print {"${granting ? 'granted' : 'revoked'}": true, "user_id", "username",
                    "permission" or "role"}`,
    options: {
      user: { type: 'string' },
      permission: { type: 'string' },
      role: { type: 'string' },
    },
    async run(values, io) {
      if (typeof values.user !== 'string') throw new UsageError('--user is required');
      const grant = grantFrom(values);
      return withGatehouse(io, async (gh) => {
        const user = await findUser(gh, values.user as string);
        if (granting) await gh.access.grantToUser(CLI_ACTOR, user.id, grant);
        else await gh.access.revokeFromUser(CLI_ACTOR, user.id, grant);
        const what =
          'permission' in grant ? `permission ${grant.permission}` : `role ${grant.role}`;
        if (values.json)
          io.out(
            JSON.stringify({
              [granting ? 'granted' : 'revoked']: true,
              user_id: user.id,
              username: user.username,
              ...grant,
            }),
          );
        else
          io.out(
            granting
              ? `Granted ${user.username} the ${what}.`
              : `Took the ${what} from ${user.username}.`,
          );
        return 0;
      });
    },
  };
}

export const grantCommandDef = grantCommand('grant');
export const revokeCommandDef = grantCommand('revoke');

function groupRef(positionals: string[]): string {
  const [ref] = positionals;
  if (!ref) throw new UsageError('name the group: its path (members/workshop) or id');
  return ref;
}

export const groupListCommand: Command = {
  path: ['group', 'list'],
  summary: 'list groups',
  usage: `Usage: gatehouse group list [--json]

Lists every group by path, with how many direct members it has.

Options:
  --json    print {"groups": [{"id", "path", "name", "parent_id", "description", "created_at",
            "members"}]}`,
  options: {},
  async run(values, io) {
    return withGatehouse(io, async (gh) => {
      const groups = await gh.access.listGroupsWithCounts();
      if (values.json) {
        io.out(
          JSON.stringify({ groups: groups.map((g) => ({ ...groupJson(g), members: g.members })) }),
        );
      } else if (groups.length === 0) io.out('There are no groups yet.');
      else for (const g of groups) io.out(`${g.path.padEnd(30)} ${g.members} members  ${g.id}`);
      return 0;
    });
  },
};

export const groupCreateCommand: Command = {
  path: ['group', 'create'],
  summary: 'create a group',
  positionals: 1,
  usage: `Usage: gatehouse group create <path> [--description D] [--json]

Creates a group. A path such as members/workshop makes a subgroup; its parent must exist.

Options:
  --description D   what the group is for
  --json            print the group {"id", "path", "name", "parent_id", "description", "created_at"}`,
  options: { description: { type: 'string' } },
  async run(values, io, positionals) {
    const path = groupRef(positionals);
    return withGatehouse(io, async (gh) => {
      const group = await gh.access.createGroup(CLI_ACTOR, {
        path,
        description: (values.description as string | undefined) ?? null,
      });
      if (values.json) io.out(JSON.stringify(groupJson(group)));
      else io.out(`Created group ${group.path} (${group.id}).`);
      return 0;
    });
  },
};

export const groupMembersCommand: Command = {
  path: ['group', 'members'],
  summary: "list a group's direct members",
  positionals: 1,
  usage: `Usage: gatehouse group members <group> [--json]

Lists the group's direct members (by path or id), in username order.

Options:
  --json    print {"members": [{"user_id", "username", "name", "role", "share_depth", "joined_at"}]}`,
  options: {},
  async run(values, io, positionals) {
    const ref = groupRef(positionals);
    return withGatehouse(io, async (gh) => {
      const group = await gh.access.getGroup(ref);
      const members = await gh.access.listMembers(group.id);
      if (values.json) io.out(JSON.stringify({ members: members.map(memberJson) }));
      else if (members.length === 0) io.out(`${group.path} has no members.`);
      else for (const m of members) io.out(`${m.username.padEnd(20)} ${m.role}`);
      return 0;
    });
  },
};

function membershipCommand(adding: boolean): Command {
  const verb = adding ? 'add-member' : 'remove-member';
  return {
    path: ['group', verb],
    summary: adding ? 'add a user to a group' : 'remove a user from a group',
    positionals: 2,
    usage: `Usage: gatehouse group ${verb} <group> <user>${adding ? ' [--owner]' : ''} [--json]

${
  adding
    ? 'Adds the user (username or id) to the group (path or id) as a member, or with --owner as an\nowner who manages it. A member already there takes the role given.'
    : 'Removes the user (username or id) from the group (path or id).'
} Every Gatehouse instance decides with the change at once.

Options:
${adding ? '  --owner   make the user an owner of the group\n' : ''}  --json    print {"${adding ? 'added' : 'removed'}": true, "group_id", "path", "user_id", "username"${adding ? ', "role"' : ''}}`,
    options: adding ? { owner: { type: 'boolean' } } : {},
    async run(values, io, positionals) {
      const ref = groupRef(positionals);
      const userName = positionals[1];
      if (!userName) throw new UsageError('name the user after the group');
      return withGatehouse(io, async (gh) => {
        const group = await gh.access.getGroup(ref);
        const user = await findUser(gh, userName);
        const role = values.owner === true ? 'owner' : 'member';
        if (adding) await gh.access.addMember(CLI_ACTOR, group.id, user.id, role);
        else await gh.access.removeMember(CLI_ACTOR, group.id, user.id);
        if (values.json)
          io.out(
            JSON.stringify({
              [adding ? 'added' : 'removed']: true,
              group_id: group.id,
              path: group.path,
              user_id: user.id,
              username: user.username,
              ...(adding ? { role } : {}),
            }),
          );
        else
          io.out(
            adding
              ? `Added ${user.username} to ${group.path} as ${role}.`
              : `Removed ${user.username} from ${group.path}.`,
          );
        return 0;
      });
    },
  };
}

export const ACCESS_COMMANDS = [
  grantCommandDef,
  revokeCommandDef,
  groupListCommand,
  groupCreateCommand,
  groupMembersCommand,
  membershipCommand(true),
  membershipCommand(false),
];
