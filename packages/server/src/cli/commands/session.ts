// `gatehouse session list | revoke`: a user's sign-in sessions, as the admin API shows them.

import { CLI_ACTOR } from '../../audit/audit.ts';
import { UUID } from '../../patterns.ts';
import { sessionJson } from '../../sessions/json.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';
import { CommandError, UsageError } from '../output.ts';
import { findUser } from './find.ts';

export const sessionListCommand: Command = {
  path: ['session', 'list'],
  summary: "list a user's sign-in sessions",
  usage: `Usage: gatehouse session list --user U [--json]

Lists a user's open sign-in sessions, newest first (never their secrets).

Options:
  --user U    username or user id
  --json      print {"sessions": [{"id", "created_at", "last_seen_at", "expires_at", "ip",
              "user_agent", "current"}]} ("current" is always false here)`,
  options: { user: { type: 'string' } },
  async run(values, io) {
    if (typeof values.user !== 'string') throw new UsageError('--user is required');
    return withGatehouse(io, async (gh) => {
      const user = await findUser(gh, values.user as string);
      const sessions = await gh.sessions.listForUser(user.id);
      sessions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      if (values.json) {
        io.out(JSON.stringify({ sessions: sessions.map((s) => sessionJson(s, null)) }));
        return 0;
      }
      if (sessions.length === 0) io.out(`${user.username} has no open sessions.`);
      for (const s of sessions)
        io.out(
          `${s.id}  since ${s.createdAt.toISOString()}, last seen ${s.lastSeenAt.toISOString()} from ${s.ip ?? 'unknown'}`,
        );
      return 0;
    });
  },
};

export const sessionRevokeCommand: Command = {
  path: ['session', 'revoke'],
  summary: "sign out one of a user's sessions",
  positionals: 1,
  usage: `Usage: gatehouse session revoke <session-id> --user U [--json]

Signs out one of the user's sessions (see "gatehouse session list"). It is refused at once
on every Gatehouse instance.

Options:
  --user U    username or user id: the session's owner
  --json      print {"revoked": true, "id", "user_id"}`,
  options: { user: { type: 'string' } },
  async run(values, io, positionals) {
    const id = positionals[0];
    if (!id) throw new UsageError('the session id is required');
    if (!UUID.test(id))
      throw new UsageError('a session id looks like 0f8fad5b-d9cb-469f-a165-70867728950e');
    if (typeof values.user !== 'string') throw new UsageError('--user is required');
    return withGatehouse(io, async (gh) => {
      const user = await findUser(gh, values.user as string);
      if (!(await gh.sessions.revokeOne(CLI_ACTOR, user.id, id.toLowerCase())))
        throw new CommandError(`${user.username} has no session ${id}`);
      if (values.json)
        io.out(JSON.stringify({ revoked: true, id: id.toLowerCase(), user_id: user.id }));
      else io.out(`Signed out session ${id.toLowerCase()} of ${user.username}.`);
      return 0;
    });
  },
};

export const SESSION_COMMANDS = [sessionListCommand, sessionRevokeCommand];
