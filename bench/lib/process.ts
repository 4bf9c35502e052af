// Child processes that never outlive the benchmark: every child is tracked and killed on exit,
// on an error and on Ctrl-C, and clean-up steps (dropping a database, deleting keys) run
// before the process ends.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { peakRssOf } from './memory.ts';

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];
let interrupted: (() => void) | null = null;
let stopping = false;
let cleaning: Promise<void> | null = null;

/** True once Ctrl-C (or SIGTERM) arrived: nothing new may start. */
export function isInterrupted(): boolean {
  return stopping;
}

/** Throws if the run was interrupted; call before creating anything that needs cleaning up. */
export function assertRunning(): void {
  if (stopping) throw new InterruptedError('interrupted');
}

export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** Runs at the end of the run or on interruption, last registered first. */
export function onCleanup(fn: () => Promise<void>): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/**
 * Runs the clean-up steps still registered (each at most once, last registered first), then
 * kills any child left. Concurrent calls share one pass.
 */
export function cleanUp(): Promise<void> {
  cleaning ??= runCleanups().finally(() => {
    cleaning = null;
  });
  return cleaning;
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      console.error(`bench: clean-up step failed: ${(err as Error).message}`);
    }
  }
  for (const child of children) child.kill('SIGKILL');
}

/** Wires Ctrl-C and SIGTERM to the clean-up, and a last-resort kill on exit. */
export function installExitHandlers(onInterrupt?: () => void) {
  interrupted = onInterrupt ?? null;
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    console.error(`\nbench: ${signal}: stopping servers and cleaning up`);
    interrupted?.();
    const force = setTimeout(() => process.exit(130), 15_000);
    force.unref();
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Synchronous last resort: an exit without cleanUp (a bug, process.exit elsewhere).
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
}

/** Keeps the last bytes a child wrote, to show when it fails. */
function tail(limit = 16 * 1024) {
  let text = '';
  return {
    push(chunk: Buffer) {
      text = (text + chunk.toString('utf8')).slice(-limit);
    },
    get text() {
      return text;
    },
  };
}

export interface StartedProcess {
  readonly pid: number;
  /** performance.now() just before spawn. */
  readonly spawnedAt: number;
  readonly child: ChildProcess;
  /** What it has written to stdout and stderr lately. */
  output(): string;
  /** Rejects when the process exits, so a wait can race it. */
  readonly exited: Promise<never>;
  /** SIGTERM, then SIGKILL after graceMs. Resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** Starts a long-running child (a server). */
export function startProcess(command: string, args: string[], options: StartOptions) {
  assertRunning();
  const out = tail();
  const spawnedAt = performance.now();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${command}`);
  children.add(child);
  child.stdout!.on('data', out.push);
  child.stderr!.on('data', out.push);
  let gone = false;
  const exit = once(child, 'exit').then(([code, signal]) => {
    gone = true;
    children.delete(child);
    return { code: code as number | null, signal: signal as string | null };
  });
  const exited = exit.then(({ code, signal }) => {
    throw new Error(
      `${options.name} exited (${signal ?? `code ${code}`}); its last output:\n${out.text}`,
    );
  });
  exited.catch(() => {}); // observed only by those who race it
  const started: StartedProcess = {
    pid: child.pid,
    spawnedAt,
    child,
    output: () => out.text,
    exited,
    async stop(graceMs = 10_000) {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  const unregister = onCleanup(() => started.stop());
  void exit.then(unregister);
  return started;
}

/** Runs a command to completion with optional stdin; rejects with its output on failure. */
export async function runProcess(
  command: string,
  args: string[],
  options: StartOptions & { input?: string; timeoutMs?: number },
): Promise<{ stdout: string; ms: number; peakMb: number | null }> {
  assertRunning();
  const t0 = performance.now();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  // Peak resident memory (VmHWM) of the command, sampled every 10 ms until it exits: VmHWM only
  // grows, so the last reading misses at most what the last 10 ms added.
  let peakMb: number | null = null;
  const sample = () => {
    try {
      peakMb = peakRssOf(child.pid!);
    } catch {
      // exited between two samples
    }
  };
  const sampler = setInterval(sample, 10);
  sample();
  try {
    const [code, signal] = await once(child, 'exit');
    if (code !== 0) {
      throw new Error(
        `${options.name} failed (${signal ?? `code ${code}`}):\n${stderr.trim() || stdout.trim()}`,
      );
    }
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
    children.delete(child);
  }
  return { stdout, ms: performance.now() - t0, peakMb };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
