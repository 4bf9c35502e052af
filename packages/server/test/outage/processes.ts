// Real processes for the outage test: a Postgres and a Redis of the test's own (never the shared
// ones, which other test files use), started on free ports in a temporary directory so the test
// can stop and start them, and Gatehouse instances run as an operator runs them.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../proxies/nginx.ts';

const GATEHOUSE_BIN = join(import.meta.dirname, '../../bin/gatehouse.js');

/** The newest Debian PostgreSQL's binaries (initdb, pg_ctl), or a message saying what to install. */
function postgresBinaries(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((x, y) => Number(y) - Number(x))
    : [];
  if (versions.length === 0)
    throw new Error('PostgreSQL server binaries are not installed: apt-get install postgresql');
  return join(root, versions[0]!, 'bin');
}

function redisBinary(): string {
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server'])
    if (existsSync(candidate)) return candidate;
  throw new Error('redis-server is not installed: apt-get install redis-server');
}

/** Postgres refuses to run as root: as root, its commands run as the postgres user. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['runuser', ['-u', 'postgres', '--', command, ...args]];
}

function run(command: string, args: string[]): string {
  const [cmd, argv] = asPostgres(command, args);
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface OwnPostgres {
  url: string;
  start(): void;
  /** A fast shutdown: sessions are disconnected, as when an operator stops the service. */
  stop(): void;
  /** Stops it whatever state it is in (test clean-up). */
  destroy(): void;
  /** Freezes the server and its backends (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
}

export async function startPostgres(dir: string): Promise<OwnPostgres> {
  const bin = postgresBinaries();
  const home = join(dir, 'postgres');
  mkdirSync(home, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(home, uid, gid);
  }
  const data = join(home, 'data');
  run(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const port = await freePort();
  const options = `-p ${port} -k ${home} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pgCtl = join(bin, 'pg_ctl');
  const pg: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      run(pgCtl, ['-D', data, '-l', join(home, 'log'), '-o', options, '-w', 'start']);
    },
    stop() {
      run(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    destroy() {
      pg.resume();
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Not running.
      }
    },
    pause() {
      signalServer('SIGSTOP');
    },
    resume() {
      signalServer('SIGCONT');
    },
  };
  /** The postmaster (its pid file's first line) and every process it started, by id. */
  function signalServer(signal: NodeJS.Signals) {
    const file = join(data, 'postmaster.pid');
    if (!existsSync(file)) return;
    const server = Number(readFileSync(file, 'utf8').split('\n')[0]);
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(server)], {
      encoding: 'utf8',
    })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    for (const pid of [server, ...children]) process.kill(pid, signal);
  }
  pg.start();
  return pg;
}

export interface OwnRedis {
  url: string;
  start(): Promise<void>;
  /** Stops it; it keeps nothing (no snapshot, no append-only file), as a cache Redis often does. */
  stop(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as with a hung server. */
  pause(): void;
  resume(): void;
}

export async function startRedis(dir: string): Promise<OwnRedis> {
  const bin = redisBinary();
  const port = await freePort();
  let child: ChildProcess | null = null;
  const redis: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly'];
      child = spawn(bin, [...args, 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      await new Promise<void>((resolve, reject) => {
        child!.stdout!.on('data', () => {
          if (output.includes('Ready to accept connections')) resolve();
        });
        child!.once('exit', (code) =>
          reject(new Error(`redis-server exited (${code}): ${output}`)),
        );
      });
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
      child = null;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
  await redis.start();
  return redis;
}

export interface Instance {
  url: string;
  start(): Promise<void>;
  /** SIGTERM: finishes what is in flight, then exits. */
  stop(): Promise<void>;
  output(): string;
}

/** A `gatehouse serve` process on a free port, ready when /readyz says so. */
export async function gatehouseInstance(
  dir: string,
  name: string,
  env: Record<string, string>,
): Promise<Instance> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = join(dir, name);
  mkdirSync(dataDir);
  let child: ChildProcess | null = null;
  let output = '';
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')),
  );
  return {
    url,
    async start() {
      child = spawn(process.execPath, [GATEHOUSE_BIN, 'serve'], {
        env: {
          ...clean,
          ...env,
          GATEHOUSE_HOST: '127.0.0.1',
          GATEHOUSE_PORT: String(port),
          GATEHOUSE_DATA_DIR: dataDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const exited = once(child, 'exit');
      for (;;) {
        const ready = await fetch(`${url}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ready) return;
        const gone = await Promise.race([exited.then(() => true), sleep(100).then(() => false)]);
        if (gone) throw new Error(`gatehouse ${name} exited during start-up:\n${output}`);
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      child = null;
    },
    output: () => output,
  };
}

export function writeConfig(dir: string, yaml: string): string {
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  return file;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
