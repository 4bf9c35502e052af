// Generates an access-groups data set straight into a Gatehouse database: trees of groups (up
// to 12 deep), users, memberships, a few includes between trees and permission grants on
// groups. Rows go in as whole arrays through `unnest` (a handful of parameters per batch,
// whatever its size), which loads a million memberships into PGlite in seconds rather than
// the minutes row-by-row INSERTs take.
//
//   node bench/access/generate.ts [--quick]   # into a throwaway PGlite, prints the counts
//
// bench/suites/access.ts calls generateAccessData() on the database it measures.

import { sql } from 'drizzle-orm';
import type { Db } from '../../packages/server/src/store/db.ts';

export interface AccessDataSize {
  groups: number;
  users: number;
  memberships: number;
  trees: number;
  maxDepth: number;
  includes: number;
  grants: number;
}

export const FULL_SIZE: AccessDataSize = {
  groups: 100_000,
  users: 100_000,
  memberships: 1_000_000,
  trees: 100,
  maxDepth: 12,
  includes: 200,
  grants: 2_000,
};

export const QUICK_SIZE: AccessDataSize = {
  groups: 10_000,
  users: 10_000,
  memberships: 100_000,
  trees: 20,
  maxDepth: 12,
  includes: 40,
  grants: 200,
};

/** A small deterministic PRNG (mulberry32), so every run builds the same data. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

const BATCH = 50_000;

/**
 * A Postgres array literal as one text parameter (Drizzle would spread a JS array into one
 * parameter per element). The generated values are uuids and [a-z0-9/@.] names, which need no
 * quoting.
 */
function arr(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : v)).join(',')}}`;
}

export interface AccessData {
  userIds: string[];
  groupPaths: string[];
  maxDepthBuilt: number;
  seconds: number;
}

export async function generateAccessData(
  db: Db,
  size: AccessDataSize,
  log: (line: string) => void = () => {},
): Promise<AccessData> {
  const started = performance.now();
  const random = prng(42);
  const pick = (n: number) => Math.floor(random() * n);

  // Groups: `trees` roots, then each new group under a random group that is not yet at the
  // depth limit; every tree also gets one chain to the full depth.
  const ids: string[] = [];
  const parents: (string | null)[] = [];
  const names: string[] = [];
  const paths: string[] = [];
  const depths: number[] = [];
  const add = (parent: number | null) => {
    const i = ids.length;
    ids.push(uuidFrom(random));
    parents.push(parent === null ? null : ids[parent]!);
    const name = parent === null ? `t${i}` : `g${i}`;
    names.push(name);
    paths.push(parent === null ? name : `${paths[parent]}/${name}`);
    depths.push(parent === null ? 1 : depths[parent]! + 1);
  };
  for (let t = 0; t < size.trees; t++) {
    add(null);
    let last = ids.length - 1;
    for (let d = 1; d < size.maxDepth; d++) {
      add(last);
      last = ids.length - 1;
    }
  }
  while (ids.length < size.groups) {
    let parent = pick(ids.length);
    while (depths[parent]! >= size.maxDepth) parent = pick(ids.length);
    add(parent);
  }
  for (let i = 0; i < ids.length; i += BATCH) {
    const end = i + BATCH;
    await db.execute(sql`insert into groups (id, parent_id, name, path)
      select * from unnest(${arr(ids.slice(i, end))}::uuid[], ${arr(parents.slice(i, end))}::uuid[],
        ${arr(names.slice(i, end))}::text[], ${arr(paths.slice(i, end))}::text[])`);
  }
  log(`${ids.length} groups, deepest ${Math.max(...depths)}`);

  const userIds = Array.from({ length: size.users }, () => uuidFrom(random));
  for (let i = 0; i < userIds.length; i += BATCH) {
    const chunk = userIds.slice(i, i + BATCH);
    const usernames = chunk.map((_, j) => `u${i + j}`);
    await db.execute(sql`insert into users (id, username, username_key, email, email_key)
      select id, n, n, n || '@bench.invalid', n || '@bench.invalid'
      from unnest(${arr(chunk)}::uuid[], ${arr(usernames)}::text[]) as t(id, n)`);
  }
  log(`${userIds.length} users`);

  // Memberships: distinct (user, group) pairs; one in twenty is an owner.
  const seen = new Set<string>();
  let made = 0;
  while (made < size.memberships) {
    const us: string[] = [];
    const gs: string[] = [];
    const roles: string[] = [];
    while (us.length < BATCH && made + us.length < size.memberships) {
      const u = pick(userIds.length);
      const g = pick(ids.length);
      const key = `${u}:${g}`;
      if (seen.has(key)) continue;
      seen.add(key);
      us.push(userIds[u]!);
      gs.push(ids[g]!);
      roles.push(random() < 0.05 ? 'owner' : 'member');
    }
    await db.execute(sql`insert into group_members (user_id, group_id, role)
      select * from unnest(${arr(us)}::uuid[], ${arr(gs)}::uuid[], ${arr(roles)}::text[])`);
    made += us.length;
  }
  log(`${made} memberships`);

  // Includes only from a lower-numbered tree's root to a group in a higher-numbered tree, so
  // membership never flows in a circle.
  const roots = ids.map((_, i) => i).filter((i) => parents[i] === null);
  const treeOf = (i: number) => Number(paths[i]!.slice(1, paths[i]!.indexOf('/') >>> 0));
  const inc: [string, string][] = [];
  const incSeen = new Set<string>();
  while (inc.length < size.includes) {
    const from = roots[pick(roots.length)]!;
    const to = pick(ids.length);
    if (treeOf(to) <= treeOf(from) || incSeen.has(`${from}:${to}`)) continue;
    incSeen.add(`${from}:${to}`);
    inc.push([ids[from]!, ids[to]!]);
  }
  await db.execute(sql`insert into group_includes (group_id, included_id, included_path)
    select i.g, i.b, b.path from unnest(${arr(inc.map((e) => e[0]))}::uuid[],
      ${arr(inc.map((e) => e[1]))}::uuid[]) as i(g, b) join groups b on b.id = i.b`);

  const grantGroups = Array.from({ length: size.grants }, () => ids[pick(ids.length)]!);
  const grantIds = grantGroups.map(() => uuidFrom(random));
  const perms = grantGroups.map((_, i) => `service${i % 50}:use`);
  await db.execute(sql`insert into group_grants (id, group_id, path, permission)
    select t.id, t.g, g.path, t.p from unnest(${arr(grantIds)}::uuid[], ${arr(grantGroups)}::uuid[],
      ${arr(perms)}::text[]) as t(id, g, p) join groups g on g.id = t.g
    on conflict do nothing`);
  log(`${inc.length} includes, ${grantGroups.length} grants`);

  // Statistics for the planner, and hint bits set now rather than on the first measured reads.
  await db.execute(sql`vacuum analyze`);
  return {
    userIds,
    groupPaths: paths,
    maxDepthBuilt: Math.max(...depths),
    seconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { openPglite } = await import('../../packages/server/src/store/db.ts');
  const database = await openPglite(null);
  await database.migrate();
  const size = process.argv.includes('--quick') ? QUICK_SIZE : FULL_SIZE;
  const data = await generateAccessData(database.db, size, (l) => console.log(`[generate] ${l}`));
  console.log(`[generate] done in ${data.seconds.toFixed(1)} s`);
  await database.close();
}
