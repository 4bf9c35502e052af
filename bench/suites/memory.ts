// Memory and start-up only: `npm run bench -- memory`. Creates one user with the CLI before the
// start (on a fresh data directory this is the CLI's worst case: PGlite initdb and migrations),
// then starts, idles and reads memory; no load. Run alone, the bare baseline is started and
// read the same way but not loaded either.

import { randomPassword } from '../lib/gatehouse.ts';
import type { SuiteFactory } from '../lib/suite.ts';

export const MEMORY_SUITE = 'memory';

export const memory: SuiteFactory = () => ({
  name: MEMORY_SUITE,
  async beforeStart(cli) {
    await cli.run(
      [
        'user',
        'create',
        '--username',
        'bench-memory',
        '--email',
        'bench-memory@example.org',
        '--password-stdin',
      ],
      `${randomPassword()}\n`,
    );
  },
  loads: async () => [],
});
