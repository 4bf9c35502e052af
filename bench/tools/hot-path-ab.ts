// A/B of the hot path on a busy machine: two checkouts' servers (embedded) run side by side
// with bare node:http, and short loads alternate between them round after round, so both
// see the same machine. Prints server CPU µs per request and req/s for each load, and the
// medians. BENCH_BEFORE_DIR: the other checkout (with its node_modules); this one is "after".
//   BENCH_BEFORE_DIR=/tmp/before node --conditions=gatehouse-source bench/tools/hot-path-ab.ts

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEHOUSE_BIN, randomPassword, signIn } from '../lib/gatehouse.ts';
import { waitForReady } from '../lib/http.ts';
import { load } from '../lib/load.ts';
import { cpuSecondsOf } from '../lib/memory.ts';
import {
  cleanUp,
  freePort,
  installExitHandlers,
  runProcess,
  startProcess,
} from '../lib/process.ts';
import { startReference } from '../lib/reference.ts';
import { readSettings } from '../lib/settings.ts';

installExitHandlers();
const settings = readSettings();
const seconds = Number(process.env.BENCH_DURATION ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const beforeDir = process.env.BENCH_BEFORE_DIR;
if (!beforeDir) throw new Error('set BENCH_BEFORE_DIR to the checkout to compare with');
const CONFIG = `
forward_auth:
  domains: [bench.test]
  rules:
    - host: '*.bench.test'
      policy: signed_in
`;

async function gatehouse(bin: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ab-'));
  writeFileSync(join(dir, 'gatehouse.yaml'), CONFIG);
  const port = await freePort();
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_'))),
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_LOG_LEVEL: 'warn',
  };
  const password = randomPassword();
  await runProcess(
    process.execPath,
    [bin, 'user', 'create', '--username', 'ab', '--email', 'ab@example.org', '--password-stdin'],
    { name: 'user create', cwd: dir, env, input: `${password}\n` },
  );
  const proc = startProcess(process.execPath, [bin, 'serve'], {
    name: `serve ${bin}`,
    cwd: dir,
    env,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForReady(proc, `${base}/readyz`, { intervalMs: 20, timeoutMs: 60_000 });
  const { cookie } = await signIn(base, 'ab', password);
  return { base, pid: proc.pid, cookie };
}

const bare = await startReference('bare', settings);
const servers = {
  before: await gatehouse(join(beforeDir, 'packages/server/bin/gatehouse.js')),
  after: await gatehouse(GATEHOUSE_BIN),
};

async function measure(url: string, pid: number, headers: Record<string, string>) {
  let cpu0 = 0;
  const r = await load(url, {
    connections: settings.connections,
    durationSeconds: seconds,
    warmupSeconds: 1,
    headers,
    onMeasureStart: () => {
      cpu0 = cpuSecondsOf(pid);
    },
  }).catch((err: Error) => {
    console.log(`${url}: ${err.message}`);
    return null;
  });
  if (!r) return null;
  return {
    us: ((cpuSecondsOf(pid) - cpu0) / r.totalRequests) * 1e6,
    rps: r.requestsPerSecond,
    p99: r.latencyMs.p99,
  };
}

const results = new Map<string, { us: number; rps: number; p99: number }[]>();
const note = (k: string, v: { us: number; rps: number; p99: number } | null) => {
  if (!v) return console.log(`${k.padEnd(28)} no figure this round (the load failed)`);
  results.set(k, [...(results.get(k) ?? []), v]);
  console.log(
    `${k.padEnd(28)} ${v.us.toFixed(1).padStart(6)} µs/req ${Math.round(v.rps)} req/s p99 ${v.p99}`,
  );
};
for (let round = 1; round <= rounds; round++) {
  note('bare GET /', await measure(`${bare.baseUrl}/`, bare.pid, {}));
  for (const side of ['before', 'after'] as const) {
    const s = servers[side];
    note(
      `${side} /auth/verify`,
      await measure(`${s.base}/auth/verify`, s.pid, {
        cookie: s.cookie,
        'x-original-url': 'https://wiki.bench.test/page',
      }),
    );
    note(`${side} /api/v1/me`, await measure(`${s.base}/api/v1/me`, s.pid, { cookie: s.cookie }));
  }
}
await cleanUp();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const bareUs = median(results.get('bare GET /')!.map((r) => r.us));
console.log('\n| load | median µs/req | CPU ratio to bare | median req/s | median p99 ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [k, rs] of results) {
  const us = median(rs.map((r) => r.us));
  console.log(
    `| ${k} | ${us.toFixed(1)} | ${(bareUs / us).toFixed(2)} | ${Math.round(median(rs.map((r) => r.rps)))} | ${median(rs.map((r) => r.p99))} |`,
  );
}
