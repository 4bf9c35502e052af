// `gatehouse serve` re-reads its forward-auth rules on SIGHUP: a good file replaces the rules
// without a restart, a broken one is refused and the old rules keep answering.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { start } from './harness.ts';

function rules(policy: string) {
  return `forward_auth:\n  rules:\n    - host: app.example.org\n      policy: ${policy}\n`;
}

describe(`SIGHUP reloads forward-auth rules (${storageMode()})`, { timeout: 180_000 }, () => {
  it('swaps in good rules and keeps the old ones when the file is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-reload-'));
    const configFile = join(dir, 'gatehouse.yaml');
    writeFileSync(configFile, rules('deny'));
    const socketPath = join(dir, 'gatehouse.sock');
    const fresh: Record<string, string> =
      storageMode() === 'postgres+redis' ? {} : { GATEHOUSE_DATA_DIR: join(dir, 'data') };
    const server = start(['serve'], {
      ...fresh,
      GATEHOUSE_SOCKET: socketPath,
      GATEHOUSE_CONFIG: configFile,
    });
    let stderr = '';
    let stdout = '';
    server.stderr!.on('data', (d) => (stderr += d));
    server.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => server.on('close', resolve));
    const verify = () =>
      new Promise<number>((resolve) => {
        const req = request(
          {
            socketPath,
            path: '/auth/verify',
            agent: false,
            headers: { 'x-original-url': 'https://app.example.org/', accept: 'application/json' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', () => resolve(0));
        req.end();
      });
    try {
      await expect.poll(verify, { timeout: 60_000, interval: 200 }).toBe(403);

      writeFileSync(configFile, rules('bypass'));
      server.kill('SIGHUP');
      await expect.poll(verify, { timeout: 30_000, interval: 100 }).toBe(200);

      writeFileSync(configFile, rules('sometimes'));
      server.kill('SIGHUP');
      await expect
        .poll(() => stdout + stderr, { timeout: 30_000, interval: 100 })
        .toMatch(/rules\[0\]\.policy/);
      expect(await verify()).toBe(200);
      expect(server.exitCode).toBeNull();
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  });
});
