// The fast decision (one recursive SQL query, then set look-ups) against a plain reference
// that walks the definitions top-down, on random trees, memberships, includes and grants.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGatehouse, storageMode, type TestGatehouse } from '../testing/test-gatehouse.ts';
import { AccessError } from './errors.ts';

let t: TestGatehouse;
beforeAll(async () => {
  t = await createTestGatehouse();
});
afterAll(async () => {
  await t?.close();
});

interface World {
  parents: number[]; // parents[i] < i, or -1 for a child of the run's root
  members: [number, number][]; // [user, group]
  includes: [number, number][]; // [group, included]
  grants: [number, number][]; // [group, permission]
}

const SIZE = 8;
const USERS = 3;

const world: fc.Arbitrary<World> = fc.record({
  parents: fc.tuple(...Array.from({ length: SIZE }, (_, i) => fc.integer({ min: -1, max: i - 1 }))),
  members: fc.array(fc.tuple(fc.nat(USERS - 1), fc.nat(SIZE - 1)), { maxLength: 6 }),
  includes: fc.array(fc.tuple(fc.nat(SIZE - 1), fc.nat(SIZE - 1)), { maxLength: 4 }),
  grants: fc.array(fc.tuple(fc.nat(SIZE - 1), fc.nat(2)), { maxLength: 4 }),
});

const below = (p: string, base: string) => p === base || p.startsWith(`${base}/`);

/** Top-down reference: is the user a member of `path`? */
function refMember(
  direct: string[],
  includes: [string, string][],
  path: string,
  seen = new Set<string>(),
): boolean {
  if (direct.some((d) => below(path, d))) return true;
  if (seen.has(path)) return false;
  seen.add(path);
  // `path` is reached through an include on it or on any group above it
  return includes.some(([a, b]) => below(path, a) && refMember(direct, includes, b, seen));
}

let run = 0;

describe(`decisions agree with a reference on random trees (${storageMode()})`, () => {
  it('for paths and permissions', async () => {
    const gh = t.gh;
    const system = { userId: null };
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        run++;
        const root = `r${run}`;
        await gh.access.createGroup(system, { path: root });
        const paths: string[] = [];
        for (let i = 0; i < SIZE; i++) {
          const parent = w.parents[i]! < 0 ? root : paths[w.parents[i]!]!;
          paths.push(`${parent}/g${i}`);
          await gh.access.createGroup(system, { path: paths[i]! });
        }
        const users: string[] = [];
        for (let u = 0; u < USERS; u++)
          users.push(
            (await gh.accounts.create({ username: `u${run}x${u}`, email: `u${run}x${u}@e.org` }))
              .id,
          );
        for (const [u, g] of w.members) await gh.access.addMember(system, paths[g]!, users[u]!);
        const includes: [string, string][] = [];
        for (const [a, b] of w.includes) {
          try {
            await gh.access.addInclude(system, paths[a]!, paths[b]!);
            includes.push([paths[a]!, paths[b]!]);
          } catch (err) {
            if (!(err instanceof AccessError)) throw err; // a refused cycle
          }
        }
        for (const [g, p] of w.grants)
          await gh.access.grantToGroup(system, paths[g]!, { permission: `${root}:p${p}` });
        for (let u = 0; u < USERS; u++) {
          const direct = w.members.filter(([m]) => m === u).map(([, g]) => paths[g]!);
          const isMember = (p: string) => refMember(direct, includes, p);
          for (const p of [root, ...paths]) {
            expect(await gh.access.decide(users[u]!, p)).toBe(isMember(p));
          }
          // a grant on G reaches members of G, and members of any group below G
          const expected = [
            ...new Set(
              w.grants
                .filter(([g]) => paths.some((q) => below(q, paths[g]!) && isMember(q)))
                .map(([, p]) => `${root}:p${p}`),
            ),
          ].sort();
          expect(await gh.access.permissionsOf(users[u]!)).toEqual(expected);
          // and the cache answers the same as a fresh load
          const fresh = await gh.access.loadSubject(users[u]!);
          expect(fresh?.groupList).toEqual(await gh.access.groupsOf(users[u]!));
        }
      }),
      { numRuns: 30 },
    );
  });
});
