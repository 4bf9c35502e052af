// Sign-in storms against the hot path: does a burst of password checks (argon2id) starve
// forward auth? In one run, one deployment (BENCH_MODES: embedded (default) or postgres):
//   1. bare node:http, GET /                       (the baseline of the ratios)
//   2. GET /auth/verify with a session cookie      (forward auth alone)
//   3. the same while STORM members sign in at once, each again as soon as answered
//   4. the sign-ins alone                           (logins per second, and per core used)
// Prints one table; the server's CPU is read from /proc. Loads 127.0.0.1 only.
//   node --conditions=gatehouse-source bench/tools/signin-storm.ts
//   BENCH_DURATION=8 BENCH_STORM=40 BENCH_MODES=postgres node ... bench/tools/signin-storm.ts

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomPassword, signIn, startGatehouse } from '../lib/gatehouse.ts';
import { load } from '../lib/load.ts';
import { cpuSecondsOf } from '../lib/memory.ts';
import { cleanUp, installExitHandlers, sleep } from '../lib/process.ts';
import { startReference } from '../lib/reference.ts';
import { readSettings } from '../lib/settings.ts';
import { chooseServers } from '../lib/stores.ts';

installExitHandlers();
const settings = readSettings();
const seconds = settings.durationSeconds;
const storm = Number(process.env.BENCH_STORM ?? 40);
const mode =
  settings.modes.has('postgres') && !settings.modes.has('embedded') ? 'postgres' : 'embedded';
const HOST = 'wiki.bench.test';
const CONFIG = `
forward_auth:
  domains: [bench.test]
  rules:
    - host: '*.bench.test'
      policy: signed_in
`;

interface Row {
  what: string;
  reqPerSec: number | null;
  p99: number | null;
  ratio: number | null;
  cpuPct: number;
  usPerReq: number | null;
  logins: LoginStats | null;
}

interface LoginStats {
  ok: number;
  busy: number;
  other: number;
  perSec: number;
  p50: number;
  p99: number;
}

const rows: Row[] = [];

/** STORM members signing in over and over until `stop` resolves; each waits for its answer. */
function signInStorm(base: string, username: string, password: string) {
  let running = true;
  const times: number[] = [];
  const counts = { ok: 0, busy: 0, other: 0 };
  const workers = Array.from({ length: storm }, async () => {
    const page = await fetch(`${base}/login`, { headers: { accept: 'text/html' } });
    await page.arrayBuffer();
    const csrf = page.headers
      .getSetCookie()
      .map((c) => c.split(';', 1)[0]!)
      .find((c) => c.split('=')[0]!.endsWith('gatehouse_csrf'))!;
    const token = csrf.slice(csrf.indexOf('=') + 1);
    const body = new URLSearchParams({ _csrf: token, username, password }).toString();
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
          cookie: csrf,
        },
        body,
      });
      await res.arrayBuffer();
      if (!running) break;
      times.push(performance.now() - t0);
      if (res.status === 303) counts.ok++;
      else if (res.status === 503) {
        counts.busy++;
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      } else counts.other++;
    }
  });
  const started = performance.now();
  return {
    reset() {
      times.length = 0;
      counts.ok = counts.busy = counts.other = 0;
    },
    async stop(): Promise<LoginStats> {
      running = false;
      const elapsed = (performance.now() - started) / 1000;
      const sorted = [...times].sort((a, b) => a - b);
      const at = (q: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      const stats = { ...counts, perSec: counts.ok / elapsed, p50: at(0.5), p99: at(0.99) };
      await Promise.allSettled(workers);
      return stats;
    },
  };
}

// 1. The baseline.
const bare = await startReference('bare', settings);
{
  let cpu0 = 0;
  const r = await load(`${bare.baseUrl}/`, {
    connections: settings.connections,
    durationSeconds: seconds,
    warmupSeconds: settings.warmupSeconds,
    onMeasureStart: () => {
      cpu0 = cpuSecondsOf(bare.pid);
    },
  });
  const cpu = cpuSecondsOf(bare.pid) - cpu0;
  rows.push({
    what: 'bare node:http GET /',
    reqPerSec: r.requestsPerSecond,
    p99: r.latencyMs.p99,
    ratio: 1,
    cpuPct: (cpu / r.durationSeconds) * 100,
    usPerReq: (cpu / r.totalRequests) * 1e6,
    logins: null,
  });
}
await bare.stop();
const bareRps = rows[0]!.reqPerSec!;

// 2–4. Gatehouse.
const password = randomPassword();
const servers = mode === 'postgres' ? await chooseServers() : null;
if (servers && !servers.ok) throw new Error(`postgres mode: ${servers.reason}`);
const gh = await startGatehouse({
  mode,
  settings,
  ...(servers?.ok ? { databaseServerUrl: servers.databaseUrl, redisUrl: servers.redisUrl } : {}),
  beforeStart: async (cli) => {
    writeFileSync(join(cli.dir, 'gatehouse.yaml'), CONFIG);
    await cli.run(
      ['user', 'create', '--username', 'storm', '--email', 'storm@example.org', '--password-stdin'],
      `${password}\n`,
    );
  },
});
const { cookie } = await signIn(gh.baseUrl, 'storm', password);
const headers = { cookie, 'x-original-url': `https://${HOST}/page` };

async function verifyLoad(what: string, during?: ReturnType<typeof signInStorm>) {
  let cpu0 = 0;
  const r = await load(`${gh.baseUrl}/auth/verify`, {
    connections: settings.connections,
    durationSeconds: seconds,
    warmupSeconds: settings.warmupSeconds,
    headers,
    onMeasureStart: () => {
      cpu0 = cpuSecondsOf(gh.pid);
      during?.reset();
    },
  });
  const cpu = cpuSecondsOf(gh.pid) - cpu0;
  const logins = during ? await during.stop() : null;
  rows.push({
    what,
    reqPerSec: r.requestsPerSecond,
    p99: r.latencyMs.p99,
    ratio: r.requestsPerSecond / bareRps,
    cpuPct: (cpu / r.durationSeconds) * 100,
    usPerReq: logins ? null : (cpu / r.totalRequests) * 1e6,
    logins,
  });
}

await verifyLoad('GET /auth/verify');
await verifyLoad(
  `GET /auth/verify + ${storm} sign-ins`,
  signInStorm(gh.baseUrl, 'storm', password),
);
{
  const alone = signInStorm(gh.baseUrl, 'storm', password);
  await sleep(settings.warmupSeconds * 1000);
  alone.reset();
  const cpu0 = cpuSecondsOf(gh.pid);
  await sleep(seconds * 1000);
  const cpu = cpuSecondsOf(gh.pid) - cpu0;
  const logins = await alone.stop();
  rows.push({
    what: `${storm} sign-ins alone`,
    reqPerSec: null,
    p99: null,
    ratio: null,
    cpuPct: (cpu / seconds) * 100,
    usPerReq: null,
    logins,
  });
}
await gh.stop();
await cleanUp();

const f = (n: number | null, d = 0) => (n === null ? '' : n.toFixed(d));
console.log(`\nsign-in storm, ${mode}, ${settings.connections} connections, ${seconds} s per row`);
console.log(
  '| row | req/s | p99 ms | ratio to bare | server CPU % | µs/req | logins/s (303) | 503 | login p50 / p99 ms | logins/s per core of server CPU |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const l = r.logins;
  console.log(
    `| ${r.what} | ${f(r.reqPerSec)} | ${f(r.p99)} | ${f(r.ratio, 2)} | ${f(r.cpuPct)} | ${f(r.usPerReq, 1)} | ${l ? f(l.perSec, 1) : ''} | ${l ? l.busy : ''} | ${l ? `${f(l.p50)} / ${f(l.p99)}` : ''} | ${l && !r.reqPerSec ? f(l.perSec / (r.cpuPct / 100), 1) : ''} |`,
  );
}
