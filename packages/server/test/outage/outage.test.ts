// Three Gatehouse instances on a Postgres and a Redis that this test starts and stops itself,
// under a light, bounded load of forward-auth checks for several sessions. A session is revoked
// while Redis is down and again while Postgres is down; both stores are stopped and started,
// and the instances restarted. Answers are counted by session: no request for a revoked
// session may ever be allowed, and outage answers must be 503s with Retry-After (their times
// are measured and printed, not asserted: docs/operators/scaling.md quotes them).
//
// It runs once, in the embedded project (its stores are its own, so the project's stores do
// not matter), and needs Debian's postgresql and redis-server packages, as CI installs them.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PERMISSION } from '../../src/accounts/accounts.ts';
import { makeConfig } from '../../src/config/config.ts';
import { parseForwardAuth } from '../../src/config/forward-auth.ts';
import { createGatehouse } from '../../src/gatehouse.ts';
import { storageMode, TEST_SECRET_KEY } from '../../src/testing/test-gatehouse.ts';
import {
  gatehouseInstance,
  type Instance,
  type OwnPostgres,
  type OwnRedis,
  startPostgres,
  startRedis,
  writeConfig,
} from './processes.ts';

const ISSUER = 'https://auth.example.org';
const COOKIE = '__Host-gatehouse_session';
const CSRF_COOKIE = '__Host-gatehouse_csrf';
const PASSWORD = 'member password 123';
const INSTANCES = 3;
const SESSIONS = 7;
/** Requests in flight at once: a light load, so the figures are latencies, not queueing. */
const CONCURRENCY = 6;

interface Answer {
  phase: string;
  session: number;
  instance: number;
  status: number;
  ms: number;
  retryAfter: string | null;
  startedAt: number;
}

let dir: string;
let pg: OwnPostgres | null = null;
let redis: OwnRedis | null = null;
const instances: Instance[] = [];
const tokens: string[] = [];
const sessionIds: string[] = [];
let memberId: string;
let adminToken: string;

beforeAll(async () => {
  if (storageMode() === 'postgres+redis') return;
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-outage-'));
  chmodSync(dir, 0o711); // Postgres runs as its own user and must reach its directory
  pg = await startPostgres(dir);
  redis = await startRedis(dir);
  const env = {
    GATEHOUSE_ISSUER: ISSUER,
    GATEHOUSE_DATABASE_URL: pg.url,
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_SECRET_KEY: TEST_SECRET_KEY,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_CONFIG: writeConfig(
      dir,
      'forward_auth:\n  domains: [example.org]\n  rules:\n    - host: wiki.example.org\n      policy: signed_in\n',
    ),
  };

  // The member, their sessions and an administrator's token, made as `gatehouse` would.
  const setup = await createGatehouse(
    makeConfig({
      issuer: ISSUER,
      databaseUrl: pg.url,
      redisUrl: redis.url,
      secretKey: TEST_SECRET_KEY,
      logLevel: 'silent',
      forwardAuth: parseForwardAuth(
        { domains: ['example.org'], rules: [{ host: 'wiki.example.org', policy: 'signed_in' }] },
        'test',
      ),
    }),
  );
  try {
    memberId = (
      await setup.accounts.create({
        username: 'member',
        email: 'member@example.org',
        password: PASSWORD,
      })
    ).id;
    const admin = await setup.accounts.create({ username: 'admin', email: 'admin@example.org' });
    await setup.accounts.grantPermission(admin.id, ADMIN_PERMISSION);
    adminToken = (
      await setup.apiTokens.create(admin.id, {
        name: 'ops',
        scopes: [ADMIN_PERMISSION],
        expiresAt: null,
      })
    ).token;
    for (let i = 0; i < SESSIONS; i++) {
      const { token, session } = await setup.sessions.create(memberId);
      tokens.push(token);
      sessionIds.push(session.id);
    }
    // Every instance starts cold: nothing of these sessions in Redis.
    await setup.stores.kv.del(...sessionIds.map((id) => `sess:${id}`));
  } finally {
    await setup.close();
  }
  for (let i = 0; i < INSTANCES; i++) instances.push(await gatehouseInstance(dir, `gh${i}`, env));
  await Promise.all(instances.map((instance) => instance.start()));
});

afterAll(async () => {
  await Promise.allSettled(instances.map((instance) => instance.stop()));
  await redis?.stop();
  pg?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const answers: Answer[] = [];
/** When each session's revocation was confirmed (2xx): from then on it must never pass. */
const revokedAt = new Map<number, number>();

async function check(phase: string, instance: number, session: number): Promise<Answer> {
  const startedAt = performance.now();
  const res = await fetch(`${instances[instance]!.url}/auth/verify`, {
    headers: {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'wiki.example.org',
      'x-forwarded-uri': '/page',
      'x-forwarded-method': 'GET',
      cookie: `${COOKIE}=${tokens[session]}`,
    },
  });
  await res.arrayBuffer();
  const answer: Answer = {
    phase,
    session,
    instance,
    status: res.status,
    ms: performance.now() - startedAt,
    retryAfter: res.headers.get('retry-after'),
    startedAt,
  };
  answers.push(answer);
  return answer;
}

/** Every (instance, session) pair `rounds` times, CONCURRENCY at a time. */
async function load(phase: string, sessions: number[], rounds: number): Promise<Answer[]> {
  const work: Array<[number, number]> = [];
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < INSTANCES; i++) for (const s of sessions) work.push([i, s]);
  const done: Answer[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let next = work.shift(); next; next = work.shift())
        done.push(await check(phase, next[0], next[1]));
    }),
  );
  return done;
}

/** An administrator signs out one of the member's sessions through an instance's API. */
async function revoke(session: number, instance: number) {
  const startedAt = performance.now();
  const res = await fetch(
    `${instances[instance]!.url}/api/v1/admin/users/${memberId}/sessions/${sessionIds[session]}`,
    { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } },
  );
  const body = await res.text();
  const ms = performance.now() - startedAt;
  if (res.ok) revokedAt.set(session, performance.now());
  return { status: res.status, ms, body, retryAfter: res.headers.get('retry-after') };
}

/** A browser signs in: the form, then its submission. */
async function signIn(instance: number) {
  const base = instances[instance]!.url;
  const form = await fetch(`${base}/login`, { headers: { accept: 'text/html' } });
  await form.text();
  const csrf = form.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  const startedAt = performance.now();
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      cookie: csrf ?? '',
    },
    body: new URLSearchParams({
      _csrf: decodeURIComponent(csrf?.split('=')[1] ?? ''),
      username: 'member',
      password: PASSWORD,
    }).toString(),
  });
  const body = await res.text();
  return {
    status: res.status,
    ms: performance.now() - startedAt,
    type: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    body,
  };
}

/** The member signs out with the sign-out form (CSRF: the double-submitted cookie). */
async function signOut(session: number, instance: number) {
  const csrf = 'c'.repeat(43);
  const startedAt = performance.now();
  const res = await fetch(`${instances[instance]!.url}/logout`, {
    method: 'POST',
    headers: {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `${COOKIE}=${tokens[session]}; ${CSRF_COOKIE}=${csrf}`,
    },
    body: `_csrf=${csrf}`,
  });
  const body = await res.text();
  if (res.ok) revokedAt.set(session, performance.now());
  return { status: res.status, ms: performance.now() - startedAt, body };
}

async function readiness() {
  return Promise.all(
    instances.map(async (instance) => {
      const res = await fetch(`${instance.url}/readyz`);
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    }),
  );
}

async function untilReady() {
  for (;;) {
    if ((await readiness()).every((r) => r.status === 200)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function summary(phase: string) {
  const mine = answers.filter((a) => a.phase === phase);
  const bySession = new Map<number, Record<number, number>>();
  for (const a of mine) {
    const counts = bySession.get(a.session) ?? {};
    counts[a.status] = (counts[a.status] ?? 0) + 1;
    bySession.set(a.session, counts);
  }
  const times = (status: number) => {
    const ms = mine
      .filter((a) => a.status === status)
      .map((a) => a.ms)
      .sort((x, y) => x - y);
    if (ms.length === 0) return '-';
    const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1);
    return `n=${ms.length} median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${ms.at(-1)!.toFixed(1)} ms`;
  };
  const sessions = [...bySession]
    .sort(([x], [y]) => x - y)
    .map(([s, counts]) => `S${s} ${JSON.stringify(counts)}`)
    .join('  ');
  return `${phase}: ${sessions}\n    200: ${times(200)}\n    503: ${times(503)}`;
}

const log: string[] = [];

describe.skipIf(storageMode() === 'postgres+redis')(
  'three instances while Redis and Postgres stop and start (own stores; runs in the embedded project)',
  () => {
    const all = Array.from({ length: SESSIONS }, (_, i) => i);

    // One scenario in order; each step is its own test so each gets the usual time.
    it('allows every session while both stores are up', async () => {
      // S0 is revoked while Redis is down, S1 while Postgres is down. S5 is first seen while
      // Redis is down and S6 while Postgres is down: no instance holds them then.
      const warm = await load('1 all up', [0, 1, 2, 3, 4], 2);
      expect(warm.every((a) => a.status === 200)).toBe(true);
      log.push(summary('1 all up'));
    });

    it('while Redis is down: refuses a revocation with nothing changed, keeps held sessions, answers 503 for others', async () => {
      await redis!.stop();
      const duringRedis = await revoke(0, 0);
      log.push(
        `revoke S0 with Redis down: ${duringRedis.status} in ${duringRedis.ms.toFixed(1)} ms, Retry-After ${duringRedis.retryAfter}`,
      );
      // Fails with nothing changed, or takes effect everywhere; never a 500 with half done.
      expect([204, 503]).toContain(duringRedis.status);
      if (duringRedis.status === 503) expect(duringRedis.retryAfter).toMatch(/^\d+$/);
      const redisDown = await load('2 Redis down', [0, 1, 2, 3, 4, 5], 2);
      const ready = await readiness();
      expect(ready.map((r) => [r.status, r.body.store])).toEqual(
        instances.map(() => [503, 'unreachable']),
      );
      const signInRedis = await signIn(1);
      log.push(
        `sign-in with Redis down: ${signInRedis.status} ${signInRedis.type} in ${signInRedis.ms.toFixed(1)} ms`,
      );
      expect(signInRedis).toMatchObject({
        status: 503,
        retryAfter: expect.stringMatching(/^\d+$/),
      });
      expect(signInRedis.type).toMatch(/^text\/html/);
      expect(signInRedis.body).toContain('Try again');
      log.push(summary('2 Redis down'));
      // Sessions an instance holds keep working; one it never saw cannot be checked.
      for (const a of redisDown) {
        if ([2, 3, 4].includes(a.session)) expect(a).toMatchObject({ status: 200 });
        if (a.session === 5) expect(a).toMatchObject({ status: 503 });
      }
    });

    it('once Redis is back (empty): takes the revocation on every instance at once', async () => {
      await redis!.start(); // empty: this Redis keeps nothing across a restart
      await untilReady();
      if (!revokedAt.has(0)) {
        const after = await revoke(0, 1);
        log.push(
          `revoke S0 again once Redis is back: ${after.status} in ${after.ms.toFixed(1)} ms`,
        );
        expect(after.status).toBe(204);
      }
      const redisBack = await load('3 Redis back', [0, 1, 2, 3, 4, 5], 2);
      log.push(summary('3 Redis back'));
      for (const a of redisBack) expect(a.status).toBe(a.session === 0 ? 401 : 200);
    });

    it('while Postgres is down: refuses an admin revocation, keeps held sessions, signs out everywhere', async () => {
      pg!.stop();
      const duringPg = await revoke(1, 2);
      log.push(
        `revoke S1 with Postgres down: ${duringPg.status} in ${duringPg.ms.toFixed(1)} ms, Retry-After ${duringPg.retryAfter}`,
      );
      expect([204, 503]).toContain(duringPg.status);
      const pgDown = await load('4 Postgres down', [0, 1, 2, 3, 4, 6], 2);
      log.push(summary('4 Postgres down'));
      for (const a of pgDown) {
        if ([2, 3, 4].includes(a.session)) expect(a).toMatchObject({ status: 200 });
        if (a.session === 6) expect(a).toMatchObject({ status: 503 });
      }
      const pgReady = await readiness();
      expect(pgReady.map((r) => [r.status, r.body.database])).toEqual(
        instances.map(() => [503, 'unreachable']),
      );
      const signInPg = await signIn(2);
      log.push(
        `sign-in with Postgres down: ${signInPg.status} ${signInPg.type} in ${signInPg.ms.toFixed(1)} ms`,
      );
      expect(signInPg).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
      expect(signInPg.type).toMatch(/^text\/html/);
      expect(signInPg.body).toContain('Try again');
      // Signing out needs only Redis to take effect everywhere; its row goes once Postgres is back.
      const out = await signOut(4, 1);
      log.push(`sign-out of S4 with Postgres down: ${out.status} in ${out.ms.toFixed(1)} ms`);
      expect(out.status).toBe(200);
      expect(out.body).toContain('You have been signed out');
      const afterOut = await load('4 Postgres down', [4], 1);
      expect(afterOut.map((a) => a.status)).toEqual(instances.map(() => 401));
    });

    it('once Postgres is back: finishes the sign-out and takes the revocation', async () => {
      pg!.start();
      await untilReady();
      if (!revokedAt.has(1)) {
        const after = await revoke(1, 0);
        log.push(
          `revoke S1 again once Postgres is back: ${after.status} in ${after.ms.toFixed(1)} ms`,
        );
        expect(after.status).toBe(204);
      }
      await load('5 Postgres back', all, 2);
      log.push(summary('5 Postgres back'));
      // The row of the session signed out during the outage goes once Postgres is back.
      for (;;) {
        const res = await fetch(`${instances[0]!.url}/api/v1/admin/users/${memberId}/sessions`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        const listed = ((await res.json()) as { items: { id: string }[] }).items.map((s) => s.id);
        if (!listed.includes(sessionIds[4]!)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const signedIn = await signIn(0);
      expect(signedIn.status).toBe(303); // and signing in works again
    });

    it('after every instance restarts: still refuses every revoked session', async () => {
      const started = performance.now();
      await Promise.all(instances.map((instance) => instance.stop()));
      const stopped = performance.now();
      await Promise.all(instances.map((instance) => instance.start()));
      log.push(
        `instances stopped in ${((stopped - started) / 1000).toFixed(1)} s, started in ${((performance.now() - stopped) / 1000).toFixed(1)} s`,
      );
      await load('6 instances restarted', all, 2);
      log.push(summary('6 instances restarted'));
    });

    it('never allowed a revoked session, and answered outages with 503 and Retry-After', () => {
      console.log(`outage figures (${answers.length} checks):\n${log.join('\n')}`);

      // The point of it all: no request for a revoked session is allowed, ever.
      for (const [session, at] of revokedAt) {
        const leaked = answers.filter(
          (a) => a.session === session && a.startedAt > at && a.status === 200,
        );
        expect(leaked).toEqual([]);
      }
      expect(revokedAt.size).toBe(3);
      // And outages are answered, not failed: no 500, and every 503 says when to come back.
      expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
      expect(answers.filter((a) => a.status === 503 && !a.retryAfter)).toEqual([]);
    });
  },
);
