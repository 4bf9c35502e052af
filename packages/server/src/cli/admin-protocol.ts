// The admin socket's protocol: newline-delimited JSON over a unix socket in the data
// directory. The CLI sends one request line, {"argv": [...], "stdin": "..." | null}; the server
// runs that command in-process and answers with lines {"out": text}, {"err": text}, and last
// {"exit": code}. Everything read from the socket is hostile until checked: sizes are bounded,
// only the expected keys are read, and values must have the expected types.

import { join } from 'node:path';

/** Where `gatehouse serve` listens for commands in embedded mode. */
export function adminSocketPath(dataDir: string): string {
  return join(dataDir, 'admin.sock');
}

/** A request line, including its arguments and standard input. */
export const MAX_REQUEST_BYTES = 128 * 1024;
/** Standard input forwarded with a command (a password). */
export const MAX_STDIN_BYTES = 64 * 1024;
const MAX_ARGS = 64;
const MAX_ARG_LENGTH = 4096;
/** One answer line the CLI accepts (a command's output line, JSON-encoded). */
export const MAX_ANSWER_LINE_BYTES = 16 * 1024 * 1024;
/** How long the server waits for the request line after a connection opens. */
export const REQUEST_TIMEOUT_MS = 5_000;

export interface AdminRequest {
  argv: string[];
  stdin: string | null;
}

export type AdminAnswer = { out: string } | { err: string } | { exit: number };

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Checks a request line; throws ProtocolError with a short reason. */
export function parseRequest(line: string): AdminRequest {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw new ProtocolError('the request is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ProtocolError('the request must be a JSON object');
  const keys = Object.keys(data);
  if (keys.some((k) => k !== 'argv' && k !== 'stdin'))
    throw new ProtocolError('the request has unknown fields');
  const argv = Object.hasOwn(data, 'argv') ? (data as { argv: unknown }).argv : undefined;
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    argv.length > MAX_ARGS ||
    !argv.every((a) => typeof a === 'string' && a.length <= MAX_ARG_LENGTH)
  )
    throw new ProtocolError(`argv must be 1 to ${MAX_ARGS} strings`);
  const stdin = Object.hasOwn(data, 'stdin') ? (data as { stdin: unknown }).stdin : null;
  if (stdin !== null && (typeof stdin !== 'string' || stdin.length > MAX_STDIN_BYTES))
    throw new ProtocolError('stdin must be a string or null');
  return { argv: [...(argv as string[])], stdin: stdin as string | null };
}

/** Checks an answer line from the server. */
export function parseAnswer(line: string): AdminAnswer {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw new ProtocolError('the server sent something that is not JSON');
  }
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const d = data as Record<string, unknown>;
    if (Object.hasOwn(d, 'out') && typeof d.out === 'string') return { out: d.out };
    if (Object.hasOwn(d, 'err') && typeof d.err === 'string') return { err: d.err };
    if (Object.hasOwn(d, 'exit') && Number.isInteger(d.exit) && (d.exit as number) >= 0)
      return { exit: d.exit as number };
  }
  throw new ProtocolError('the server sent an unexpected answer');
}

/**
 * Splits a byte stream into lines, refusing a line longer than `max` bytes (the caller
 * destroys the connection then). `onLine` gets each complete line without its newline.
 */
export function lineReader(
  max: number,
  onLine: (line: string) => void,
  onTooLong: () => void,
): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  let size = 0;
  let dead = false;
  return (chunk) => {
    if (dead) return;
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, i);
      if (size + part.length > max) {
        dead = true;
        onTooLong();
        return;
      }
      const line = Buffer.concat([...pending, part]).toString('utf8');
      pending = [];
      size = 0;
      start = i + 1;
      onLine(line);
      if (dead) return;
    }
    const rest = chunk.subarray(start);
    size += rest.length;
    if (size > max) {
      dead = true;
      onTooLong();
      return;
    }
    if (rest.length > 0) pending.push(rest);
  };
}
