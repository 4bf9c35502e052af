// The benchmark's knobs, read once from the environment.

function positive(name: string, fallback: number, allowZero = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero))
    throw new Error(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, not ${raw}`,
    );
  return n;
}

export interface Settings {
  /** Seconds of measured load per target. */
  durationSeconds: number;
  /** Seconds of unmeasured load per target before the measured run. */
  warmupSeconds: number;
  /** Concurrent connections, the same for every target. */
  connections: number;
  /** How long a server sits idle after start before its resident memory is read. */
  idleMs: number;
  /** Interval of the readiness poll that times the cold start. */
  pollMs: number;
  /** Give up on a server that is not ready after this long. */
  readyTimeoutMs: number;
  /** Which deployments to run besides bare (always run: it is the baseline). */
  modes: Set<string>;
}

export function readSettings(): Settings {
  const modes = (process.env.BENCH_MODES ?? 'fastify,sdk,embedded,postgres')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const m of modes) {
    if (!['fastify', 'sdk', 'embedded', 'postgres'].includes(m))
      throw new Error(`BENCH_MODES: unknown mode ${m} (use fastify, sdk, embedded, postgres)`);
  }
  return {
    durationSeconds: positive('BENCH_DURATION', 10),
    warmupSeconds: positive('BENCH_WARMUP', 2, true),
    connections: Math.round(positive('BENCH_CONNECTIONS', 50)),
    idleMs: positive('BENCH_IDLE_MS', 3000, true),
    pollMs: 20,
    readyTimeoutMs: positive('BENCH_READY_TIMEOUT_MS', 60_000),
    modes: new Set(modes),
  };
}
