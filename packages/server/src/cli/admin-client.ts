// The CLI's side of the admin socket: hand the command to the server running on this data
// directory and print what it answers. Null when no server answers (the CLI then opens the
// database itself).

import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import {
  type AdminRequest,
  lineReader,
  MAX_ANSWER_LINE_BYTES,
  ProtocolError,
  parseAnswer,
} from './admin-protocol.ts';
import { CommandError, type Io } from './output.ts';

const CONNECT_TIMEOUT_MS = 2_000;

export function runRemote(path: string, request: AdminRequest, io: Io): Promise<number | null> {
  if (!existsSync(path)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let connected = false;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      fn();
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!connected) finish(() => resolve(null));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT'))
        return finish(() => resolve(null)); // left by a server that stopped
      const why =
        err.code === 'EACCES'
          ? `permission denied on ${path}; run the command as the data directory's owner`
          : `the admin socket ${path} failed: ${err.message}`;
      finish(() => reject(new CommandError(why)));
    });
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on(
      'data',
      lineReader(
        MAX_ANSWER_LINE_BYTES,
        (line) => {
          if (settled) return;
          try {
            const answer = parseAnswer(line);
            if ('out' in answer) io.out(answer.out);
            else if ('err' in answer) io.err(answer.err);
            else finish(() => resolve(answer.exit));
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
            finish(() => reject(new CommandError(err.message)));
          }
        },
        () => finish(() => reject(new CommandError('the server sent a line that is too long'))),
      ),
    );
    socket.on('close', () =>
      finish(() =>
        reject(new CommandError('the server closed the connection before the command finished')),
      ),
    );
  });
}
