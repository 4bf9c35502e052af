// Forward auth: GET /auth/verify with a session cookie and a matching rule (what a proxy asks
// before every request), directly; then through real NGINX, `auth_request` to Gatehouse in
// front of a static upstream, against the same NGINX proxying the same upstream without auth.
// The NGINX server block is the operators' guide snippet (docs/operators/proxies/).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNginx } from '../../packages/server/test/proxies/nginx.ts';
import { randomPassword, signIn } from '../lib/gatehouse.ts';
import { onCleanup } from '../lib/process.ts';
import type { SuiteFactory } from '../lib/suite.ts';

const USERNAME = 'fa-bench';
const HOST = 'wiki.bench.test';

const CONFIG = `
forward_auth:
  domains: [bench.test]
  rules:
    - host: ${HOST}
      path: /public/*
      policy: bypass
    - host: ${HOST}
      path: /admin/*
      users: [someone-else]
      policy: signed_in
    - host: '*.bench.test'
      policy: signed_in
`;

export const forwardAuth: SuiteFactory = () => {
  const password = randomPassword();
  return {
    name: 'forward-auth',
    async beforeStart(cli) {
      writeFileSync(join(cli.dir, 'gatehouse.yaml'), CONFIG);
      await cli.run(
        [
          'user',
          'create',
          '--username',
          USERNAME,
          '--email',
          'fa-bench@example.org',
          '--password-stdin',
        ],
        `${password}\n`,
      );
    },
    async loads(gh) {
      const { cookie } = await signIn(gh.baseUrl, USERNAME, password);
      const direct = { cookie, 'x-original-url': `https://${HOST}/page` };
      const res = await fetch(`${gh.baseUrl}/auth/verify`, { headers: direct });
      if (res.status !== 200 || res.headers.get('remote-user') !== USERNAME)
        throw new Error(`GET /auth/verify answered ${res.status}: ${await res.text()}`);

      // A static upstream and two fronts to it: with auth_request, and plain.
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-static-'));
      writeFileSync(join(dir, 'index.html'), 'ok');
      const [upstreamPort, plainPort] = [await freePort(), await freePort()];
      const nginx = await startNginx(
        [
          {
            serverName: HOST,
            gatehouse: 'http://gatehouse_bench',
            upstream: `http://127.0.0.1:${upstreamPort}`,
          },
        ],
        {
          extra: `
  upstream gatehouse_bench { server ${new URL(gh.baseUrl).host}; keepalive 64; }
  server { listen 127.0.0.1:${upstreamPort}; root ${dir}; }
  server {
    listen 127.0.0.1:${plainPort};
    location / { proxy_pass http://127.0.0.1:${upstreamPort}; proxy_set_header Host $http_host; }
  }`,
        },
      );
      onCleanup(async () => {
        await nginx.stop();
        rmSync(dir, { recursive: true, force: true });
      });
      const through = await fetch(`http://127.0.0.1:${nginx.port}/`, {
        headers: { cookie, 'x-forwarded-host': HOST },
      });
      // fetch cannot set Host; autocannon can. This check only proves NGINX is up.
      await through.arrayBuffer();
      const nginxHeaders = { cookie, host: HOST };
      return [
        { target: 'GET /auth/verify (direct)', path: '/auth/verify', headers: direct },
        {
          target: 'nginx auth_request → static',
          baseUrl: `http://127.0.0.1:${nginx.port}`,
          path: '/',
          headers: nginxHeaders,
        },
        {
          target: 'nginx → static, no auth',
          baseUrl: `http://127.0.0.1:${plainPort}`,
          path: '/',
          headers: { host: HOST },
        },
      ];
    },
  };
};
