// The running server's side of the admin socket (embedded mode): `gatehouse serve` listens on
// <dataDir>/admin.sock, mode 0600, and runs each command it receives with the same code the
// CLI runs, against its own Gatehouse. Protocol and limits: admin-protocol.ts.

import { chmodSync, existsSync, lstatSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../config/logger.ts';
import type { Gatehouse } from '../gatehouse.ts';
import {
  type AdminAnswer,
  lineReader,
  MAX_REQUEST_BYTES,
  ProtocolError,
  parseRequest,
  REQUEST_TIMEOUT_MS,
} from './admin-protocol.ts';
import { CommandError, type Io } from './output.ts';

/** Commands handled at once; more connections wait in the kernel's queue or are refused. */
const MAX_CONNECTIONS = 8;

export interface AdminServer {
  close(): Promise<void>;
}

/** Does something answer on this socket path? */
export function answers(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function send(socket: Socket, answer: AdminAnswer) {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(answer)}\n`);
}

export async function openAdminSocket(options: {
  path: string;
  gh: Gatehouse;
  logger: Logger;
  /** Runs one command as the `gatehouse` command would, with this Io. */
  execute(argv: string[], io: Io): Promise<number>;
}): Promise<AdminServer> {
  const { path, gh, logger, execute } = options;
  const dirMode = statSync(dirname(path)).mode;
  if (dirMode & 0o077)
    logger.warn(
      `the data directory ${dirname(path)} is open to other users (mode ${(dirMode & 0o777).toString(8)}); chmod 700 it`,
    );
  // A socket left by a server that died is replaced; a live one, or anything else, is not ours.
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket())
      throw new CommandError(`${path} exists and is not a socket; remove it`);
    if (await answers(path))
      throw new CommandError(`another Gatehouse server answers on ${path}; stop it first`);
    rmSync(path, { force: true });
  }

  const open = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    const refuse = (reason: string) => {
      send(socket, { err: `gatehouse: refused by the server: ${reason}` });
      send(socket, { exit: 2 });
      socket.end();
      // A peer that never reads does not keep the connection.
      setTimeout(() => socket.destroy(), 1_000).unref();
    };
    let received = false;
    const read = lineReader(
      MAX_REQUEST_BYTES,
      (line) => {
        if (received) return;
        received = true;
        socket.setTimeout(0);
        socket.removeListener('data', read);
        socket.resume(); // anything after the request is read and dropped
        let request: ReturnType<typeof parseRequest>;
        try {
          request = parseRequest(line);
        } catch (err) {
          if (err instanceof ProtocolError) return refuse(err.message);
          throw err;
        }
        void run(socket, request.argv, request.stdin);
      },
      () => {
        received = true;
        socket.removeListener('data', read);
        refuse(`the request is longer than ${MAX_REQUEST_BYTES} bytes`);
      },
    );
    socket.on('data', read);
    socket.on('end', () => {
      if (!received) socket.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;

  async function run(socket: Socket, argv: string[], stdin: string | null) {
    // Only the command's words: its options may name people.
    logger.info({ command: argv.slice(0, 2).join(' ') }, 'admin socket: running a command');
    const io: Io = {
      out: (text) => send(socket, { out: text }),
      err: (text) => send(socket, { err: text }),
      async readStdin() {
        if (stdin === null) throw new CommandError('standard input was not forwarded');
        return stdin;
      },
      gatehouse: gh,
    };
    let code: number;
    try {
      code = await execute(argv, io);
    } catch (err) {
      logger.error({ err }, 'admin socket: a command failed unexpectedly');
      io.err('gatehouse: unexpected error in the server');
      code = 1;
    }
    send(socket, { exit: code < 0 ? 1 : code });
    socket.end();
  }

  // Created 0600 under a umask that lets nobody else in, then made so explicitly.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.on('error', (err) => logger.error({ err }, 'admin socket error'));

  return {
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      });
      rmSync(path, { force: true });
    },
  };
}
