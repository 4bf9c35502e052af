// The reference servers in bench/servers/ as child processes: bare node:http (the baseline
// every ratio divides by) and an empty Fastify app.

import { fileURLToPath } from 'node:url';
import type { RunningServer } from './gatehouse.ts';
import { waitForReady } from './http.ts';
import { freePort, startProcess } from './process.ts';
import type { Settings } from './settings.ts';

export type ReferenceServer = 'bare' | 'fastify' | 'fastify-sdk';

export async function startReference(
  which: ReferenceServer,
  settings: Settings,
): Promise<RunningServer> {
  const script = fileURLToPath(new URL(`../servers/${which}.ts`, import.meta.url));
  const port = await freePort();
  const proc = startProcess(process.execPath, [script], {
    name: `${which} server`,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  // The guarded server answers / with 401 until given a token; it is ready when it serves one.
  const readyPath = which === 'fastify-sdk' ? '/bench-token' : '/';
  const coldStartMs = await waitForReady(proc, `${baseUrl}${readyPath}`, {
    intervalMs: settings.pollMs,
    timeoutMs: settings.readyTimeoutMs,
  });
  return { baseUrl, pid: proc.pid, coldStartMs, process: proc, stop: () => proc.stop() };
}
