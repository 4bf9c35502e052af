import { openStores } from '../../gatehouse.ts';
import { lockDataDir } from '../../store/data-dir.ts';
import type { Command } from '../command.ts';
import { configFromEnvironment } from '../context.ts';

export const migrateCommand: Command = {
  path: ['migrate'],
  summary: 'apply pending database migrations and exit',
  usage: `Usage: gatehouse migrate [--json]

Applies every pending migration to the configured database (GATEHOUSE_DATABASE_URL, or the
embedded database under GATEHOUSE_DATA_DIR). Safe to run while other instances start: one
migrates, the others wait. \`gatehouse serve\` also migrates at start.`,
  options: {},
  local: 'the running server migrated the database when it started',
  async run(values, io) {
    const config = configFromEnvironment();
    const unlock = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
    try {
      const { database, kv } = await openStores(config);
      try {
        await database.migrate();
      } finally {
        await Promise.allSettled([kv.close(), database.close()]);
      }
    } finally {
      unlock();
    }
    io.out(values.json ? JSON.stringify({ migrated: true }) : 'Database is up to date.');
    return 0;
  },
};
