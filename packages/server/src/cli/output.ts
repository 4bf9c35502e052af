// How every command speaks: human text by default, one JSON document with --json; errors as
// one line on stderr. Exit 0 on success, 1 on failure, 2 on bad usage.

import type { Gatehouse } from '../gatehouse.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export class CommandError extends Error {
  override name = 'CommandError';
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  /**
   * Set when the command came over a running server's admin socket: the server's own
   * Gatehouse, which the command uses instead of opening the stores.
   */
  gatehouse?: Gatehouse;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  async readStdin() {
    if (process.stdin.isTTY)
      throw new UsageError('--password-stdin reads the password from standard input; pipe it in');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      // A password longer than this is refused anyway; do not buffer an endless stream.
      if (size > 64 * 1024) throw new CommandError('standard input is too long for a password');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  },
};
