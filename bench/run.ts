// `npm run bench`: the bare node:http baseline, an empty Fastify app, then Gatehouse embedded, then Gatehouse on
// Postgres + Redis (when reachable), one at a time, each as a child process on 127.0.0.1,
// loaded from this process with autocannon. Prints a table and writes results/latest.json.
// Suites: all by default; `npm run bench -- oidc forward-auth` (or BENCH_SUITES=oidc) runs only
// those. Knobs: see README.md.

import { fileURLToPath } from 'node:url';
import { type DeploymentResult, measureDeployment } from './lib/deployment.ts';
import { SERVER_LOG_LEVEL, type StorageMode, startGatehouse } from './lib/gatehouse.ts';
import { stopLoad } from './lib/load.ts';
import { cleanUp, installExitHandlers, isInterrupted } from './lib/process.ts';
import { startReference } from './lib/reference.ts';
import { buildReport, machine, memoryTable, table, writeJson } from './lib/report.ts';
import { readSettings, type Settings } from './lib/settings.ts';
import { chooseServers, describeUrl } from './lib/stores.ts';
import type { Suite, SuiteFactory } from './lib/suite.ts';
import { forwardAuth } from './suites/forward-auth.ts';
import { MEMORY_SUITE, memory } from './suites/memory.ts';
import { bareProvider, oidc } from './suites/oidc.ts';
import { measureSdkVerify, type SdkVerifyResult } from './suites/sdk.ts';
import { sessionMe } from './suites/session-me.ts';

/** Every selected suite runs against every Gatehouse deployment. Add new benchmarks here. */
const SUITES: SuiteFactory[] = [memory, sessionMe, forwardAuth, oidc];

/** Reference deployments a suite's rows are also compared with, measured when it is selected. */
const REFERENCES: Record<string, Array<typeof bareProvider>> = { oidc: [bareProvider] };

/** The suites named on the command line or in BENCH_SUITES; all of them when none is named. */
function selectSuites(): SuiteFactory[] {
  const named = [...process.argv.slice(2), ...(process.env.BENCH_SUITES ?? '').split(',')]
    .map((s) => s.trim())
    .filter(Boolean);
  if (named.length === 0) return SUITES;
  const byName = new Map(SUITES.map((make) => [make().name, make]));
  for (const n of named)
    if (!byName.has(n))
      throw new Error(`unknown suite ${n} (suites: ${[...byName.keys()].join(', ')})`);
  return [...byName].filter(([n]) => named.includes(n)).map(([, make]) => make);
}

const RESULTS = fileURLToPath(new URL('./results/latest.json', import.meta.url));
const log = (line: string) => console.log(`[bench] ${line}`);

function nodeArgs(): string[] {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

async function gatehouse(
  selected: SuiteFactory[],
  name: string,
  mode: StorageMode,
  settings: Settings,
  servers?: { databaseUrl: string; redisUrl: string },
) {
  const suites: Suite[] = selected.map((make) => make());
  return measureDeployment({
    name,
    settings,
    log,
    start: () =>
      startGatehouse({
        mode,
        settings,
        databaseServerUrl: servers?.databaseUrl,
        redisUrl: servers?.redisUrl,
        nodeArgs: nodeArgs(),
        beforeStart: async (cli) => {
          for (const s of suites) await s.beforeStart?.(cli);
        },
      }),
    loads: async (gh) => (await Promise.all(suites.map((s) => s.loads(gh)))).flat(),
  });
}

async function main() {
  const settings = readSettings();
  const selected = selectSuites();
  const m = machine();
  log(
    `${m.nproc} cores (${m.cpuModel}), Node ${m.node}; ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s per target`,
  );
  log(
    `Gatehouse runs with GATEHOUSE_LOG_LEVEL=${SERVER_LOG_LEVEL}: request logging is not measured`,
  );
  log(`suites: ${selected.map((make) => make().name).join(', ')}`);
  // `npm run bench -- memory`: start, idle and read memory only; nothing is loaded.
  const memoryOnly = selected.every((make) => make().name === MEMORY_SUITE);
  if (m.loadAverage.start > m.nproc / 2)
    log(
      `warning: the load average is ${m.loadAverage.start} on ${m.nproc} cores: other work is running, so req/s will be noisy (the CPU ratio is steadier)`,
    );

  const deployments: DeploymentResult[] = [];
  const skipped: Array<{ deployment: string; reason: string }> = [];

  deployments.push(
    await measureDeployment({
      name: 'bare node:http',
      baseline: true,
      settings,
      log,
      start: () => startReference('bare', settings),
      loads: async () => (memoryOnly ? [] : [{ target: 'GET /', path: '/' }]),
    }),
  );

  if (settings.modes.has('fastify')) {
    deployments.push(
      await measureDeployment({
        name: 'empty fastify app',
        settings,
        log,
        start: () => startReference('fastify', settings),
        loads: async () => (memoryOnly ? [] : [{ target: 'GET / (JSON)', path: '/' }]),
      }),
    );
  }

  // gatehouse-client: the same Fastify route guarded by the SDK (compare with the empty app),
  // and, in this process, verify() against jose's jwtVerify.
  let sdkVerify: SdkVerifyResult | null = null;
  if (settings.modes.has('sdk') && !memoryOnly) {
    deployments.push(
      await measureDeployment({
        name: 'fastify + gatehouse-client guard',
        settings,
        log,
        start: () => startReference('fastify-sdk', settings),
        loads: async (server) => {
          const res = await fetch(`${server.baseUrl}/bench-token`);
          const { token } = (await res.json()) as { token: string };
          return [
            {
              target: 'GET / (JSON, requireLogin, Bearer JWT)',
              path: '/',
              headers: { authorization: `Bearer ${token}` },
            },
          ];
        },
      }),
    );
    sdkVerify = await measureSdkVerify({ log });
  }
  for (const make of selected) {
    for (const reference of REFERENCES[make().name] ?? []) {
      const r = reference();
      deployments.push(
        await measureDeployment({
          name: r.name,
          settings,
          log,
          start: () => r.start(settings),
          loads: (server) => r.loads(server),
        }),
      );
    }
  }

  if (settings.modes.has('embedded'))
    deployments.push(await gatehouse(selected, 'embedded (PGlite + memory)', 'embedded', settings));

  if (settings.modes.has('postgres')) {
    const choice = await chooseServers();
    if (choice.ok) {
      log(
        `Postgres ${describeUrl(choice.databaseUrl)} and Redis ${describeUrl(choice.redisUrl)} (${choice.source === 'env' ? 'BENCH_DATABASE_URL / BENCH_REDIS_URL' : 'local defaults'})`,
      );
      deployments.push(await gatehouse(selected, 'postgres + redis', 'postgres', settings, choice));
    } else {
      log(`skipping postgres + redis: ${choice.reason}`);
      skipped.push({ deployment: 'postgres + redis', reason: choice.reason });
    }
  }

  const report = buildReport(settings, SERVER_LOG_LEVEL, deployments, skipped);
  if (!memoryOnly) console.log(`\n${table(report.rows)}\n`);
  console.log(`\n${memoryTable(report.deployments)}\n`);
  if (sdkVerify) {
    const { opsPerSecond: o, ratio } = sdkVerify;
    console.log(
      `gatehouse-client verify() vs jose jwtVerify (RS256, same key, ${sdkVerify.tokens} tokens, median of ${sdkVerify.rounds} rounds): jose ${o.jose}/s; first seen ${o.firstSeen}/s = ${ratio.firstSeen}× (aim ≥ 0.9); seen again ${o.seenAgain}/s = ${ratio.seenAgain}× (aim ≥ 10)\n`,
    );
  }
  console.log(
    [
      'ratio = req/s ÷ bare req/s (aim ≥ 0.5 for GET /api/v1/me); non-200 = answers with another status',
      'CPU server/ac = % of one core used by the server process / by autocannon during the measured run',
      'server CPU µs/req = server CPU time per request; CPU ratio = bare µs/req ÷ this µs/req (steadier on a busy machine)',
      "ratio to ref / ref CPU ratio = the same against the row's reference (POST /token: the bare oidc-provider; aim ≥ 0.8)",
      'cold start = spawn → first 200 from /readyz (polled every 20 ms); RSS = VmRSS of the server process (MB = MiB)',
      'peak (VmHWM) = highest RSS of the server so far, read with the idle RSS (the start-up peak); CLI = the set-up commands before the start (user create: on a fresh data dir it creates the database), VmHWM sampled every 10 ms',
      'memory aims: embedded idle ≤ 150 MB and peak ≤ 300 MB; Postgres + Redis idle ≤ 100 MB; cold start ≤ 1000 ms',
      `load average ${report.machine.loadAverage.start} at start, ${report.machine.loadAverage.end} at end, ${report.machine.nproc} cores`,
    ].join('\n'),
  );
  const results = { ...report, sdkVerify };
  writeJson(RESULTS, results);
  log(`wrote ${RESULTS}`);
}

installExitHandlers(stopLoad);
try {
  await main();
  await cleanUp();
} catch (err) {
  if (isInterrupted()) {
    // The signal handler is cleaning up and exits with 130; wait for it.
    await cleanUp();
    process.exit(130);
  }
  console.error(`\n[bench] FAILED: ${(err as Error).stack ?? err}`);
  await cleanUp();
  process.exit(1);
}
