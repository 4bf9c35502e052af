// Commands other than `serve` act on a Gatehouse: the running server's, when the command came
// over its admin socket (`io.gatehouse`), or one opened for this command and closed after it.

import { loadConfig } from '../config/config.ts';
import { createLogger } from '../config/logger.ts';
import { createGatehouse, type Gatehouse } from '../gatehouse.ts';
import { lockDataDir } from '../store/data-dir.ts';
import type { Io } from './output.ts';

/** The configuration from the environment and config file, as `serve` would read it. */
export function configFromEnvironment(flags: Record<string, unknown> = {}) {
  return loadConfig({ env: process.env, flags });
}

export async function withGatehouse<T>(io: Io, fn: (gh: Gatehouse) => Promise<T>): Promise<T> {
  if (io.gatehouse) return fn(io.gatehouse);
  const config = configFromEnvironment();
  // Embedded mode: the data directory must not be open in a running server at the same time.
  const unlock = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
  try {
    const gh = await createGatehouse(config, { logger: createLogger({ level: 'warn' }) });
    try {
      return await fn(gh);
    } finally {
      await gh.close();
    }
  } finally {
    unlock();
  }
}
