// The reference servers in bench/servers/ as child processes: bare node:http (the baseline
// every ratio divides by), an empty Fastify app, and a bare oidc-provider (the token
// endpoint's baseline).

import { fileURLToPath } from 'node:url';
import type { RunningServer } from './gatehouse.ts';
import { waitForReady } from './http.ts';
import { freePort, startProcess } from './process.ts';
import type { Settings } from './settings.ts';

export type ReferenceServer = 'bare' | 'fastify' | 'fastify-sdk' | 'oidc-provider';

export async function startReference(
  which: ReferenceServer,
  settings: Settings,
  /** Extra environment for the server, and the path that answers 200 once it is ready. */
  options: { env?: Record<string, string>; readyPath?: string } = {},
): Promise<RunningServer> {
  const script = fileURLToPath(new URL(`../servers/${which}.ts`, import.meta.url));
  const port = await freePort();
  const proc = startProcess(process.execPath, [script], {
    name: `${which} server`,
    env: { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  // The guarded server answers / with 401 until given a token; it is ready when it serves one.
  const readyPath = options.readyPath ?? (which === 'fastify-sdk' ? '/bench-token' : '/');
  const coldStartMs = await waitForReady(proc, `${baseUrl}${readyPath}`, {
    intervalMs: settings.pollMs,
    timeoutMs: settings.readyTimeoutMs,
  });
  return { baseUrl, pid: proc.pid, coldStartMs, process: proc, stop: () => proc.stop() };
}
