// Access decisions at scale, in process: "may user U pass expression E?" on 100,000 groups in
// trees up to 12 deep with 1,000,000 memberships (bench/access/generate.ts), answered
//   - uncached: the decision cache emptied before every call, so each check is the one
//     recursive query plus the evaluation (a cache miss),
//   - cached: users whose subject is already in the in-process LRU,
// against the baseline of a primary-key lookup (`select … from users where id = $1`) on the same
// database in the same run. One call at a time, each timed with the high-resolution clock.
//
//   npm run bench:access                 # full size, embedded (PGlite) and Postgres if reachable
//   npm run bench:access -- --quick      # a tenth of the size
//   BENCH_ACCESS_MODES=embedded npm run bench:access
//
// This is not an HTTP suite (there is no decision endpoint of its own; forward auth will put
// one behind HTTP), so it is not in run.ts's SUITES.

import { sql } from 'drizzle-orm';
import { makeConfig } from '../../packages/server/src/config/config.ts';
import { createLogger } from '../../packages/server/src/config/logger.ts';
import { createGatehouse } from '../../packages/server/src/gatehouse.ts';
import { type Database, openPglite, openPostgres } from '../../packages/server/src/store/db.ts';
import { createMemoryKv } from '../../packages/server/src/store/kv-memory.ts';
import { FULL_SIZE, generateAccessData, QUICK_SIZE } from '../access/generate.ts';
import { cleanUp, installExitHandlers } from '../lib/process.ts';
import { machine } from '../lib/report.ts';
import { chooseServers, createScratchStores, describeUrl } from '../lib/stores.ts';

const log = (line: string) => console.log(`[bench:access] ${line}`);
const quick = process.argv.includes('--quick') || process.env.BENCH_ACCESS_QUICK === '1';
const size = quick ? QUICK_SIZE : FULL_SIZE;
const modes = (process.env.BENCH_ACCESS_MODES ?? 'embedded,postgres').split(',');

interface Measure {
  name: string;
  ops: number;
  perSecond: number;
  p50us: number;
  p99us: number;
}

async function measure(name: string, ops: number, op: (i: number) => Promise<unknown>) {
  const times = new Float64Array(ops);
  const started = performance.now();
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    await op(i);
    times[i] = performance.now() - t0;
  }
  const total = performance.now() - started;
  times.sort();
  const at = (q: number) => times[Math.min(ops - 1, Math.floor(q * ops))]! * 1000;
  return { name, ops, perSecond: (ops / total) * 1000, p50us: at(0.5), p99us: at(0.99) };
}

async function runMode(mode: string, database: Database) {
  const kv = createMemoryKv({ prefix: 'bench:' });
  const gh = await createGatehouse(makeConfig({ logLevel: 'silent' }), {
    stores: { database, kv },
    logger: createLogger({ level: 'silent' }),
  });
  try {
    log(`${mode}: generating ${size.groups} groups, ${size.memberships} memberships…`);
    const data = await generateAccessData(database.db, size, (l) => log(`${mode}: ${l}`));
    log(`${mode}: generated in ${data.seconds.toFixed(1)} s`);
    const users = data.userIds;
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // A rule of the shape forward auth will evaluate: a deep group or a permission.
    const rules = Array.from(
      { length: 100 },
      (_, i) => `${data.groupPaths[rand(data.groupPaths.length)]} | perm:service${i % 50}:use`,
    );
    const dbOps = quick ? 2000 : 5000;

    // warm up the connection and the plans
    for (let i = 0; i < 200; i++) {
      await database.db.execute(
        sql`select id, username from users where id = ${users[rand(users.length)]!}`,
      );
      gh.access.clearCache();
      await gh.access.decide(users[rand(users.length)]!, rules[i % rules.length]!);
    }
    const pk = await measure('primary-key lookup (baseline)', dbOps, () =>
      database.db.execute(
        sql`select id, username from users where id = ${users[rand(users.length)]!}`,
      ),
    );
    const uncached = await measure('decision, uncached', dbOps, (i) => {
      gh.access.clearCache();
      return gh.access.decide(users[rand(users.length)]!, rules[i % rules.length]!);
    });
    const hot = users.slice(0, 1000);
    for (const u of hot) await gh.access.decide(u, rules[0]!);
    const cached = await measure('decision, cached', 200_000, (i) =>
      gh.access.decide(hot[i % hot.length]!, rules[i % rules.length]!),
    );
    // what one subject holds, on average
    let groups = 0;
    for (const u of hot.slice(0, 200)) groups += (await gh.access.groupsOf(u)).length;
    return { mode, results: [pk, uncached, cached], avgGroups: groups / 200, data };
  } finally {
    await gh.close();
    await kv.close();
  }
}

function print(mode: string, results: Measure[], avgGroups: number) {
  const base = results[0]!.perSecond;
  console.log(
    `\n${mode} (${size.groups} groups, ${size.memberships} memberships; a subject holds ${avgGroups.toFixed(1)} effective groups on average)`,
  );
  console.log('| check | ops | per second | p50 µs | p99 µs | ratio to PK lookup |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.ops} | ${Math.round(r.perSecond)} | ${r.p50us.toFixed(1)} | ${r.p99us.toFixed(1)} | ${(r.perSecond / base).toFixed(2)} |`,
    );
}

async function main() {
  installExitHandlers();
  const m = machine();
  log(`${m.nproc} cores (${m.cpuModel}), Node ${m.node}; ${quick ? 'quick' : 'full'} size`);
  if (modes.includes('embedded')) {
    const database = await openPglite(null);
    try {
      const r = await runMode('embedded (PGlite)', database);
      print(r.mode, r.results, r.avgGroups);
    } finally {
      await database.close();
    }
  }
  if (modes.includes('postgres')) {
    const servers = await chooseServers();
    if (!servers.ok) log(`postgres: skipped (${servers.reason})`);
    else {
      const scratch = await createScratchStores(servers.databaseUrl, servers.redisUrl);
      log(`postgres: ${describeUrl(scratch.databaseUrl)}`);
      const database = await openPostgres(scratch.databaseUrl, { max: 4 });
      try {
        const r = await runMode('postgres', database);
        print(r.mode, r.results, r.avgGroups);
      } finally {
        await database.close();
        await scratch.remove();
      }
    }
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
