// The `gatehouse` command: a thin layer over the same subsystems the server uses.

import { parseArgs } from 'node:util';
import { AccountError } from '../accounts/errors.ts';
import { ApiTokenError } from '../apitokens/errors.ts';
import { ClientError } from '../clients/clients.ts';
import { CodedError } from '../coded-error.ts';
import { ConfigError } from '../config/errors.ts';
import { DataDirLockedError } from '../store/data-dir.ts';
import { DatabaseError } from '../store/db.ts';
import { runRemote } from './admin-client.ts';
import { adminSocketPath } from './admin-protocol.ts';
import { answers } from './admin-server.ts';
import type { Command } from './command.ts';
import { ACCESS_COMMANDS } from './commands/access.ts';
import { CLIENT_COMMANDS } from './commands/client.ts';
import { keysRotateCommand } from './commands/keys.ts';
import { migrateCommand } from './commands/migrate.ts';
import { serveCommand } from './commands/serve.ts';
import { SESSION_COMMANDS } from './commands/session.ts';
import { tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from './commands/token.ts';
import { USER_COMMANDS } from './commands/user.ts';
import { userCreateCommand } from './commands/user-create.ts';
import { configFromEnvironment } from './context.ts';
import { CommandError, type Io, processIo, UsageError } from './output.ts';

export { type Command, KEEP_RUNNING } from './command.ts';

const COMMANDS: Command[] = [
  // Commands arriving over the admin socket run through main, with the server's Gatehouse.
  serveCommand((argv, io) => main(argv, io)),
  migrateCommand,
  userCreateCommand,
  ...USER_COMMANDS,
  ...ACCESS_COMMANDS,
  ...SESSION_COMMANDS,
  ...CLIENT_COMMANDS,
  keysRotateCommand,
  tokenCreateCommand,
  tokenListCommand,
  tokenRevokeCommand,
];

const COMMON = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const;

function overview(): string {
  const lines = COMMANDS.map((c) => `  gatehouse ${c.path.join(' ').padEnd(22)} ${c.summary}`);
  return [
    'Usage: gatehouse <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `gatehouse <command> --help` for its options.',
  ].join('\n');
}

/** Known failures become one line; anything else is a bug and still prints no stack unless asked. */
function describe(err: unknown): string {
  if (
    err instanceof CodedError ||
    err instanceof ConfigError ||
    err instanceof DatabaseError ||
    err instanceof AccountError ||
    err instanceof ApiTokenError ||
    err instanceof DataDirLockedError ||
    err instanceof CommandError ||
    err instanceof ClientError
  ) {
    return err.message;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `unexpected error: ${message.split('\n')[0]}`;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(overview());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version') {
    io.out('gatehouse 0.1.0');
    return 0;
  }
  const command = COMMANDS.find((c) => c.path.every((word, i) => argv[i] === word));
  if (!command) {
    io.err(`gatehouse: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${overview()}`);
    return 2;
  }
  const rest = argv.slice(command.path.length);
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { ...COMMON, ...command.options },
      strict: true,
      allowPositionals: (command.positionals ?? 0) > 0,
    }));
    if (positionals.length > (command.positionals ?? 0))
      throw new Error(`unexpected argument "${positionals[command.positionals ?? 0]}"`);
  } catch (err) {
    io.err(`gatehouse: ${(err as Error).message}\n\n${command.usage}`);
    return 2;
  }
  if (values.help) {
    io.out(command.usage);
    return 0;
  }
  try {
    if (io.gatehouse && command.local) {
      io.err(`gatehouse: ${command.path.join(' ')} cannot run inside the server: ${command.local}`);
      return 2;
    }
    if (!io.gatehouse && command.path[0] !== 'serve') {
      // Arguments are checked; in embedded mode a running server does the work if one answers.
      const config = configFromEnvironment();
      if (!config.databaseUrl) {
        const socket = adminSocketPath(config.dataDir);
        if (command.local) {
          if (await answers(socket))
            throw new CommandError(
              `a Gatehouse server is running on ${config.dataDir}; ${command.local}`,
            );
        } else {
          const stdin = command.readsStdin?.(values) ? await io.readStdin() : null;
          const code = await runRemote(socket, { argv, stdin }, io);
          if (code !== null) return code;
          if (stdin !== null) io = { ...io, readStdin: async () => stdin };
        }
      }
    }
    return (await command.run(values, io, positionals)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`gatehouse: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    const message = describe(err);
    if (values.json) io.out(JSON.stringify({ error: { message } }));
    io.err(`gatehouse: ${message}`);
    return 1;
  }
}
