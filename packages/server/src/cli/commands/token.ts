// `gatehouse token create | list | revoke`: personal API tokens for scripts and tools (seed
// 003's "mint a token with scopes such as upload:read").

import { expiresAtFrom } from '../../apitokens/apitokens.ts';
import { apiTokenJson } from '../../apitokens/json.ts';
import { CLI_ACTOR } from '../../audit/audit.ts';
import { UUID } from '../../patterns.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';
import { CommandError, UsageError } from '../output.ts';
import { findUser } from './find.ts';

/** The expiry an --expires-in value names: null for none ("never" or absent). */
function expiryFrom(value: unknown, now: number): number | null {
  try {
    return expiresAtFrom(value as string | undefined, now);
  } catch {
    throw new UsageError('--expires-in takes a duration such as 30d, 12h or 2w, or "never"');
  }
}

export const tokenCreateCommand: Command = {
  path: ['token', 'create'],
  summary: 'create a personal API token for a user',
  usage: `Usage: gatehouse token create --user U --scope S [--scope S…] [--expires-in 30d] [--name N] [--json]

Creates a personal API token that acts for the user with the given scopes, and prints it once:
it is stored only as a hash and cannot be shown again. Scopes must be permissions the user
holds (or account:read / account:write, which every member holds); a token is never wider
than its owner. Send it as "Authorization: Bearer <token>".

Options:
  --user U          username or user id
  --scope S         a permission string such as upload:read; repeat for more
  --expires-in D    30d, 12h, 2w…; "never" or absent: no expiry (a warning is printed)
  --name N          what the token is for (default "CLI token")
  --json            print {"token", "id", "user_id", "username", "name", "scopes", "created_at",
                    "expires_at", "warnings", …}`,
  options: {
    user: { type: 'string' },
    scope: { type: 'string', multiple: true },
    'expires-in': { type: 'string' },
    name: { type: 'string' },
  },
  async run(values, io) {
    if (typeof values.user !== 'string') throw new UsageError('--user is required');
    const scopes = (values.scope as string[] | undefined) ?? [];
    if (scopes.length === 0) throw new UsageError('at least one --scope is required');
    const expiresAt = expiryFrom(values['expires-in'], Date.now());
    return withGatehouse(io, async (gh) => {
      const user = await findUser(gh, values.user as string);
      const { token, info, warnings } = await gh.apiTokens.create(
        user.id,
        { name: (values.name as string | undefined) ?? 'CLI token', scopes, expiresAt },
        CLI_ACTOR,
      );
      if (values.json) {
        // The token as the API shows it, with its secret (once) and its owner.
        io.out(
          JSON.stringify({
            token,
            ...apiTokenJson(info),
            user_id: user.id,
            username: user.username,
            warnings,
          }),
        );
      } else {
        io.out(
          `Created token "${info.name}" (${info.id}) for ${user.username} with scopes ${info.scopes.join(' ')}${info.expiresAt ? `, expiring ${info.expiresAt.toISOString()}` : ''}.`,
        );
        io.out('Copy it now; it cannot be shown again:');
        io.out(`  ${token}`);
      }
      for (const w of warnings) io.err(`warning: ${w}`);
      return 0;
    });
  },
};

export const tokenListCommand: Command = {
  path: ['token', 'list'],
  summary: "list a user's API tokens",
  usage: `Usage: gatehouse token list --user U [--json]

Lists a user's personal API tokens (never their secrets), newest first.

Options:
  --user U    username or user id
  --json      print {"tokens": [{"id", "name", "scopes", "created_at", "expires_at", "expired", "last_used_at", "last_used_ip"}]}`,
  options: { user: { type: 'string' } },
  async run(values, io) {
    if (typeof values.user !== 'string') throw new UsageError('--user is required');
    return withGatehouse(io, async (gh) => {
      const user = await findUser(gh, values.user as string);
      const tokens = await gh.apiTokens.listForUser(user.id);
      if (values.json) {
        io.out(JSON.stringify({ tokens: tokens.map(apiTokenJson) }));
        return 0;
      }
      if (tokens.length === 0) io.out(`${user.username} has no API tokens.`);
      for (const t of tokens) {
        const expiry = t.expired
          ? 'expired'
          : t.expiresAt
            ? `expires ${t.expiresAt.toISOString()}`
            : 'never expires';
        const used = t.lastUsedAt ? `last used ${t.lastUsedAt.toISOString()}` : 'never used';
        io.out(`${t.id}  ${t.name}  [${t.scopes.join(' ')}]  ${expiry}, ${used}`);
      }
      return 0;
    });
  },
};

export const tokenRevokeCommand: Command = {
  path: ['token', 'revoke'],
  summary: 'revoke an API token',
  positionals: 1,
  usage: `Usage: gatehouse token revoke <id> [--json]

Revokes a personal API token by id (see "gatehouse token list"). It stops working at once on
every Gatehouse instance.

Options:
  --json    print {"revoked": true, "id"}`,
  options: {},
  async run(values, io, positionals) {
    const id = positionals[0];
    if (!id) throw new UsageError('the token id is required');
    if (!UUID.test(id))
      throw new UsageError('a token id looks like 0f8fad5b-d9cb-469f-a165-70867728950e');
    return withGatehouse(io, async (gh) => {
      const info = await gh.apiTokens.get(id.toLowerCase());
      if (!info || !(await gh.apiTokens.revoke(info.id, {}, CLI_ACTOR)))
        throw new CommandError(`there is no token ${id}`);
      if (values.json) io.out(JSON.stringify({ revoked: true, id: info.id }));
      else io.out(`Revoked token "${info.name}" (${info.id}).`);
      return 0;
    });
  },
};
