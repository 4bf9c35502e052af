// Runs the `gatehouse` command as an operator does: a real process with real exit codes, on a
// fresh data directory (and, in Postgres + Redis mode, a fresh database and key prefix).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  createTestStores,
  storageMode,
  type TestStores,
} from '../../src/testing/test-gatehouse.ts';

const BIN = join(import.meta.dirname, '../../bin/gatehouse.js');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let stores: TestStores | null = null;
/** The environment every command of this test file runs with. */
export let baseEnv: Record<string, string>;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
  baseEnv = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_LOG_LEVEL: 'warn' };
  if (storageMode() === 'postgres+redis') {
    stores = await createTestStores();
    // The CLI opens the database itself; these stores only provide a fresh database and prefix.
    await stores.database.close();
    baseEnv.GATEHOUSE_DATABASE_URL = stores.databaseUrl!;
    baseEnv.GATEHOUSE_REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL!;
    baseEnv.GATEHOUSE_REDIS_PREFIX = stores.redisPrefix;
  }
});
afterAll(() => stores?.destroy());

export function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')),
  );
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...clean, ...baseEnv, ...env },
    stdio: 'pipe',
  });
}

export function run(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = start(args, options.env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.end(options.stdin ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
