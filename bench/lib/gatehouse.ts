// Gatehouse as an operator runs it: `node packages/server/bin/gatehouse.js serve` in a child
// process, configured only through GATEHOUSE_* environment variables, with the `gatehouse`
// CLI for set-up (users, clients) before it starts. Log level warn, so that what is measured
// is the request path, not log output.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForReady } from './http.ts';
import {
  assertRunning,
  freePort,
  onCleanup,
  runProcess,
  type StartedProcess,
  startProcess,
} from './process.ts';
import type { Settings } from './settings.ts';
import { createScratchStores } from './stores.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GATEHOUSE_BIN = join(REPO_ROOT, 'packages/server/bin/gatehouse.js');
export const SERVER_LOG_LEVEL = 'warn';

export type StorageMode = 'embedded' | 'postgres';

export interface RunningServer {
  readonly baseUrl: string;
  readonly pid: number;
  /** Milliseconds from spawn until the readiness URL first answered 200. */
  readonly coldStartMs: number;
  /** Milliseconds of CLI set-up before the start, if any. */
  readonly setupMs?: number | null;
  /** The highest peak RSS (VmHWM, MiB) of the set-up's CLI commands, if any ran. */
  readonly setupPeakMb?: number | null;
  readonly process: StartedProcess;
  stop(): Promise<void>;
}

export interface CliResult {
  stdout: string;
  ms: number;
  /** Peak RSS (VmHWM) of the command in MiB, sampled every 10 ms. */
  peakMb: number | null;
}

/** The `gatehouse` command against the same stores the server uses. */
export interface GatehouseCli {
  /** The server's working directory: a gatehouse.yaml written here is its config file. */
  readonly dir: string;
  run(args: string[], input?: string): Promise<CliResult>;
  /** Another Node script (a bench helper in bench/tools/) with the same environment and cwd. */
  script(path: string, args: string[], input?: string): Promise<CliResult>;
}

export interface RunningGatehouse extends RunningServer {
  readonly mode: StorageMode;
  readonly cli: GatehouseCli;
}

export interface GatehouseStartOptions {
  mode: StorageMode;
  settings: Settings;
  /** For mode postgres: the server URLs (a scratch database and key prefix are made on them). */
  databaseServerUrl?: string;
  redisUrl?: string;
  /** Set-up that must happen before the server starts (the embedded data dir is locked while it runs). */
  beforeStart?: (cli: GatehouseCli) => Promise<void>;
  /** Extra node flags for the server process, e.g. --cpu-prof (BENCH_SERVER_NODE_ARGS). */
  nodeArgs?: string[];
}

/** The environment without any GATEHOUSE_* the person running the bench happens to have set. */
function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  return env;
}

export async function startGatehouse(options: GatehouseStartOptions): Promise<RunningGatehouse> {
  const { mode, settings } = options;
  assertRunning();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));

  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...cleanEnv(),
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_LOG_LEVEL: SERVER_LOG_LEVEL,
  };
  if (mode === 'postgres') {
    if (!options.databaseServerUrl || !options.redisUrl)
      throw new Error('postgres mode needs a database server URL and a Redis URL');
    const scratch = await createScratchStores(options.databaseServerUrl, options.redisUrl);
    env.GATEHOUSE_DATABASE_URL = scratch.databaseUrl;
    env.GATEHOUSE_REDIS_URL = scratch.redisUrl;
    env.GATEHOUSE_REDIS_PREFIX = scratch.redisPrefix;
  }

  // cwd is the scratch directory, so no ./gatehouse.yaml of the checkout is picked up.
  let setupPeakMb: number | null = null;
  const cli: GatehouseCli = {
    dir,
    run: async (args, input) => {
      const result = await runProcess(process.execPath, [GATEHOUSE_BIN, ...args], {
        name: `gatehouse ${args.slice(0, 2).join(' ')}`,
        cwd: dir,
        env,
        input,
      });
      if (result.peakMb !== null) setupPeakMb = Math.max(setupPeakMb ?? 0, result.peakMb);
      return result;
    },
    script: (path, args, input) =>
      runProcess(process.execPath, [path, ...args], {
        name: `node ${path.split('/').pop()}`,
        cwd: dir,
        env,
        input,
      }),
  };
  const t0 = performance.now();
  await options.beforeStart?.(cli);
  const setupMs = options.beforeStart ? performance.now() - t0 : null;

  const proc = startProcess(
    process.execPath,
    [...(options.nodeArgs ?? []), GATEHOUSE_BIN, 'serve'],
    {
      name: `gatehouse serve (${mode})`,
      cwd: dir,
      env,
    },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const coldStartMs = await waitForReady(proc, `${baseUrl}/readyz`, {
    intervalMs: settings.pollMs,
    timeoutMs: settings.readyTimeoutMs,
  });
  return {
    mode,
    baseUrl,
    pid: proc.pid,
    coldStartMs,
    setupMs,
    setupPeakMb,
    process: proc,
    cli,
    stop: () => proc.stop(),
  };
}

/** A password nobody else knows, long enough for Gatehouse's rules. */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

function cookiePairs(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0]!;
    const eq = pair.indexOf('=');
    if (eq > 0) out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Signs in through the login form as a browser would (CSRF cookie and field), and returns the
 * Cookie header that carries the new session. Outside dev mode the cookies are __Host-/Secure;
 * a benchmark over plain http on 127.0.0.1 simply sends them back.
 */
export async function signIn(baseUrl: string, username: string, password: string) {
  const page = await fetch(`${baseUrl}/login`, { headers: { accept: 'text/html' } });
  await page.arrayBuffer();
  if (page.status !== 200) throw new Error(`GET /login answered ${page.status}`);
  const csrf = [...cookiePairs(page)].find(([name]) => name.endsWith('gatehouse_csrf'));
  if (!csrf) throw new Error('GET /login set no gatehouse_csrf cookie');

  const res = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `${csrf[0]}=${csrf[1]}`,
    },
    body: new URLSearchParams({ _csrf: csrf[1], username, password }).toString(),
  });
  const body = await res.text();
  if (res.status !== 303)
    throw new Error(`POST /login answered ${res.status}, not 303:\n${body.slice(0, 500)}`);
  const session = [...cookiePairs(res)].find(([name]) => name.endsWith('gatehouse_session'));
  if (!session) throw new Error('POST /login set no gatehouse_session cookie');
  return { cookie: `${session[0]}=${session[1]}`, cookieName: session[0] };
}
