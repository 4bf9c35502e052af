// Readiness polling, which also times a server's cold start.

import type { StartedProcess } from './process.ts';
import { sleep } from './process.ts';

/**
 * Polls url every intervalMs until it answers 200, and returns the milliseconds from the
 * process's spawn to that answer. Fails early if the process exits.
 */
export async function waitForReady(
  proc: StartedProcess,
  url: string,
  options: { intervalMs: number; timeoutMs: number },
): Promise<number> {
  const deadline = proc.spawnedAt + options.timeoutMs;
  let last = 'no answer';
  const poll = async () => {
    for (;;) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - proc.spawnedAt;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      }
      if (performance.now() > deadline) {
        throw new Error(
          `${url} was not ready after ${options.timeoutMs} ms (last: ${last}); server output:\n${proc.output()}`,
        );
      }
      await sleep(options.intervalMs);
    }
  };
  return Promise.race([poll(), proc.exited]);
}
