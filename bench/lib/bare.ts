// The baseline server, bench/servers/bare.ts, as a child process.

import { fileURLToPath } from 'node:url';
import type { RunningServer } from './gatehouse.ts';
import { waitForReady } from './http.ts';
import { freePort, startProcess } from './process.ts';
import type { Settings } from './settings.ts';

const BARE = fileURLToPath(new URL('../servers/bare.ts', import.meta.url));

export async function startBare(settings: Settings): Promise<RunningServer> {
  const port = await freePort();
  const proc = startProcess(process.execPath, [BARE], {
    name: 'bare node:http server',
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const coldStartMs = await waitForReady(proc, `${baseUrl}/`, {
    intervalMs: settings.pollMs,
    timeoutMs: settings.readyTimeoutMs,
  });
  return { baseUrl, pid: proc.pid, coldStartMs, process: proc, stop: () => proc.stop() };
}
