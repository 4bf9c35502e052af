// GET /api/v1/me with a session cookie: the session check (cookie → session → user) that every
// signed-in request pays, plus the smallest JSON answer.

import { randomPassword, signIn } from '../lib/gatehouse.ts';
import type { SuiteFactory } from '../lib/suite.ts';

export const USERNAME = 'bench';

export const sessionMe: SuiteFactory = () => {
  const password = randomPassword();
  return {
    name: 'session-me',
    async beforeStart(cli) {
      await cli.run(
        [
          'user',
          'create',
          '--username',
          USERNAME,
          '--email',
          'bench@example.org',
          '--password-stdin',
        ],
        `${password}\n`,
      );
    },
    async loads(gh) {
      const { cookie } = await signIn(gh.baseUrl, USERNAME, password);
      // One request by hand first: a load of 401s would measure nothing useful.
      const res = await fetch(`${gh.baseUrl}/api/v1/me`, { headers: { cookie } });
      const body = (await res.json()) as { username?: string };
      if (res.status !== 200 || body.username !== USERNAME)
        throw new Error(`GET /api/v1/me answered ${res.status} ${JSON.stringify(body)}`);
      return [{ target: 'GET /api/v1/me', path: '/api/v1/me', headers: { cookie } }];
    },
  };
};
