// One deployment measured end to end: start (cold start), sit idle (idle memory), run each
// load in turn (throughput, latency), read memory again, stop.

import type { RunningServer } from './gatehouse.ts';
import { type LoadResult, load } from './load.ts';
import { cpuSecondsOf, type Rss, rssOf } from './memory.ts';
import { sleep } from './process.ts';
import type { Settings } from './settings.ts';
import type { LoadSpec } from './suite.ts';

export interface TargetResult extends LoadResult {
  target: string;
  /**
   * CPU used during the measured run, in % of one core: the server process (all its threads)
   * and this process (autocannon). A server well below 100% while autocannon is near 100% means
   * the load generator, not the server, was the limit.
   */
  cpuPercent: { server: number; loadGenerator: number };
  /**
   * Server CPU time per answered request, in microseconds. Unlike requests/s it barely depends
   * on what else the machine is running, so it compares targets across noisy runs.
   */
  serverCpuUsPerRequest: number;
  /** The reference row this one is also compared with (LoadSpec.reference). */
  reference?: { deployment: string; target: string };
}

export interface DeploymentResult {
  /** e.g. "bare node:http", "embedded (PGlite + in-memory)". */
  name: string;
  baseline: boolean;
  coldStartMs: number;
  /** Time of the CLI set-up before the start (first run: creates the database, hashes a password). */
  setupMs: number | null;
  /** Peak RSS (VmHWM, MiB) of the CLI set-up commands (the first one creates the database). */
  setupPeakMb: number | null;
  /** VmRSS after start and BENCH_IDLE_MS idle; its peakMb is the start-up peak (VmHWM). */
  rssIdle: Rss;
  rssAfterLoad: Rss;
  targets: TargetResult[];
}

export async function measureDeployment<S extends RunningServer>(opts: {
  name: string;
  baseline?: boolean;
  settings: Settings;
  start: () => Promise<S>;
  loads: (server: S) => Promise<LoadSpec[]>;
  log: (line: string) => void;
}): Promise<DeploymentResult> {
  const { settings, log } = opts;
  log(`${opts.name}: starting`);
  const server = await opts.start();
  try {
    log(`${opts.name}: ready in ${server.coldStartMs.toFixed(0)} ms; idle ${settings.idleMs} ms`);
    await sleep(settings.idleMs);
    const rssIdle = rssOf(server.pid);
    const specs = await opts.loads(server);
    const targets: TargetResult[] = [];
    for (const spec of specs) {
      log(
        `${opts.name}: ${spec.target}: ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s, ${settings.connections} connections`,
      );
      let cpu = { server: 0, self: process.cpuUsage(), wall: 0 };
      const result = await load((spec.baseUrl ?? server.baseUrl) + spec.path, {
        onMeasureStart: () => {
          cpu = {
            server: cpuSecondsOf(server.pid),
            self: process.cpuUsage(),
            wall: performance.now(),
          };
        },
        connections: settings.connections,
        durationSeconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        expectStatus: spec.expectStatus,
      });
      const wallSeconds = (performance.now() - cpu.wall) / 1000;
      const self = process.cpuUsage(cpu.self);
      const cpuPercent = {
        server: Math.round(((cpuSecondsOf(server.pid) - cpu.server) / wallSeconds) * 100),
        loadGenerator: Math.round(((self.user + self.system) / 1e6 / wallSeconds) * 100),
      };
      const serverCpuSeconds = cpuSecondsOf(server.pid) - cpu.server;
      const serverCpuUsPerRequest =
        Math.round((serverCpuSeconds / Math.max(1, result.totalRequests)) * 1e6 * 10) / 10;
      targets.push({
        target: spec.target,
        ...result,
        cpuPercent,
        serverCpuUsPerRequest,
        ...(spec.reference ? { reference: spec.reference } : {}),
      });
      if (result.unexpected > 0)
        log(
          `  warning: ${result.unexpected} answers had another status: ${JSON.stringify(result.statusCounts)}`,
        );
    }
    const rssAfterLoad = rssOf(server.pid);
    return {
      name: opts.name,
      baseline: opts.baseline ?? false,
      coldStartMs: Math.round(server.coldStartMs),
      setupMs: server.setupMs == null ? null : Math.round(server.setupMs),
      setupPeakMb: server.setupPeakMb ?? null,
      rssIdle,
      rssAfterLoad,
      targets,
    };
  } finally {
    await server.stop();
  }
}
