// What a `gatehouse` command is: main.ts lists them, each file under commands/ defines some.
// Kept apart from main.ts so the commands do not import the file that imports them.

import type { parseArgs } from 'node:util';
import type { Io } from './output.ts';

export interface Command {
  /** Words after `gatehouse`, e.g. ["user", "create"]. */
  path: string[];
  summary: string;
  usage: string;
  options: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  /** How many words may follow the options (`token revoke <id>`); none unless set. */
  positionals?: number;
  /**
   * Why the command cannot run inside a running server (serve, migrate): it then never goes
   * over the admin socket, and is refused while a server holds the data directory.
   */
  local?: string;
  /** Whether the command reads standard input with these options (forwarded to a server). */
  readsStdin?(values: Record<string, unknown>): boolean;
  /** Resolves to the exit code; KEEP_RUNNING for a server that exits on its own signal. */
  run(values: Record<string, unknown>, io: Io, positionals: string[]): Promise<number | undefined>;
}

export const KEEP_RUNNING = -1;
