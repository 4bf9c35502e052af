// One load run with autocannon: a short warm-up, then the measured run, then a check that
// the answers were the expected ones (a fast stream of 401s would be a meaningless figure).

import autocannon, { type Instance, type Result } from 'autocannon';
import { assertRunning } from './process.ts';

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status every answer should have. */
  expectStatus?: number;
  /** Called just before the measured run starts (after the warm-up). */
  onMeasureStart?: () => void;
}

export interface LoadResult {
  url: string;
  requestsPerSecond: number;
  /** autocannon's requests.average, for comparison with its CLI output. */
  autocannonRequestsAverage: number;
  /** Mean and percentiles of latency, in milliseconds. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  totalRequests: number;
  durationSeconds: number;
  /** Answers by status code. */
  statusCounts: Record<string, number>;
  /** Answers whose status was not the expected one. */
  unexpected: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

let current: Instance | null = null;

/** Stops the run in progress (Ctrl-C). */
export function stopLoad() {
  current?.stop();
}

async function fire(url: string, options: LoadOptions, seconds: number): Promise<Result> {
  current = autocannon({
    url,
    connections: options.connections,
    duration: seconds,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  try {
    const result = await current;
    assertRunning(); // a run cut short by Ctrl-C is not a result
    return result;
  } finally {
    current = null;
  }
}

function summarise(url: string, r: Result, expect: number): LoadResult {
  const statusCounts: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {}))
    statusCounts[code] = Number(count);
  const total = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  return {
    url,
    // Answers over the run's measured duration; autocannon's own figure (the mean of its
    // per-second samples) counts a partial last second as a whole one, which reads low.
    requestsPerSecond: total / r.duration,
    autocannonRequestsAverage: r.requests.average,
    latencyMs: {
      mean: r.latency.average,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
    },
    totalRequests: total,
    durationSeconds: r.duration,
    statusCounts,
    unexpected: total - (statusCounts[String(expect)] ?? 0),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

/** Refuses a run where most answers were not the expected status, or nothing answered. */
function check(result: LoadResult, expect: number, what: string) {
  if (result.totalRequests === 0)
    throw new Error(`${what}: no answers at all (${result.errors} connection errors)`);
  if (result.unexpected > result.totalRequests / 2) {
    throw new Error(
      `${what}: ${result.unexpected} of ${result.totalRequests} answers were not ${expect} (${JSON.stringify(result.statusCounts)}); the figure would be meaningless`,
    );
  }
}

/** Warms up, then measures. */
export async function load(url: string, options: LoadOptions): Promise<LoadResult> {
  const expect = options.expectStatus ?? 200;
  if (options.warmupSeconds > 0) {
    const warm = summarise(url, await fire(url, options, options.warmupSeconds), expect);
    check(warm, expect, `warm-up of ${url}`);
  }
  options.onMeasureStart?.();
  const result = summarise(url, await fire(url, options, options.durationSeconds), expect);
  check(result, expect, url);
  return result;
}
