// Commands other than `serve` open the configured stores, do one thing and close them.

import { join } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../config/logger.ts';
import { createGatehouse, type Gatehouse } from '../gatehouse.ts';
import { lockDataDir } from '../store/data-dir.ts';

/** The configuration from the environment and config file, as `serve` would read it. */
export function configFromEnvironment(flags: Record<string, unknown> = {}) {
  return loadConfig({ env: process.env, flags });
}

export async function withGatehouse<T>(fn: (gh: Gatehouse) => Promise<T>): Promise<T> {
  const config = configFromEnvironment();
  // Embedded mode: the data directory must not be open in a running server at the same time.
  const unlock = config.databaseUrl ? () => {} : lockDataDir(join(config.dataDir));
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
