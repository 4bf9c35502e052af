// "May user U pass expression E?" One query per cache miss fetches everything a decision needs
// (the user's effective groups, with includes followed to a fixed point, and every permission
// from direct grants, roles and groups); the answer's inputs are then kept in an in-process LRU
// that `access.changed` and `user.changed` events on the revocation channel invalidate.

import { sql } from 'drizzle-orm';
import {
  type AccessSubject,
  type Expression,
  evaluateExpression,
  parseExpression,
} from 'gatehouse-client/expression';
import { UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import { createLru } from '../store/lru.ts';

/** What an expression is evaluated against; sets, so a decision is a few hash look-ups. */
export interface Subject extends AccessSubject {
  readonly userId: string;
  readonly username: string;
  /** Effective group paths (direct memberships and includes), sorted. */
  readonly groupList: readonly string[];
  readonly permissionList: readonly string[];
  readonly groups: ReadonlySet<string>;
  readonly permissions: ReadonlySet<string>;
}

/**
 * The single statement behind a cache miss: the SQL function `gatehouse_access_subject`
 * (drizzle/0003_access_subject.sql), a PL/pgSQL function so its plan is cached (planning the
 * recursive query costs more than running it). It returns rows (k, v): 'u' the username (none
 * for an unknown or disabled user), 'g' each effective group path, 'p' each permission.
 *
 * Effective groups are direct memberships, then every group that includes a group at or below
 * one already reached (a member of `a` is a member of `a/b`, so `a`'s members reach whatever
 * includes `a/b`); UNION makes the recursion stop at a fixed point even if a cycle slipped in.
 * A group's grants reach members of the group, of any group above it (they are members of it)
 * and of any group below it. Path prefixes are matched as ranges on text_pattern_ops indexes
 * over copies of the paths kept in group_includes and group_grants.
 */
function subjectQuery(userId: string) {
  return sql`select k, v from gatehouse_access_subject(${userId}::uuid)`;
}

export function createDecisions(deps: {
  db: Db;
  events: EventBus;
  now?: () => number;
  cacheSize?: number;
  cacheTtlMs?: number;
}) {
  const { db } = deps;
  // The TTL is a backstop; correctness comes from the events.
  const cache = createLru<Subject | null>({
    max: deps.cacheSize ?? 50_000,
    ttlMs: deps.cacheTtlMs ?? 5 * 60_000,
    now: deps.now,
  });
  // Bumped by every invalidation: a load that started before one is not cached, so a removal
  // that lands while a query is in flight is never papered over by the stale answer.
  let epoch = 0;
  // Parsed rule texts, so a rule from configuration is parsed once.
  const parsed = createLru<Expression>({ max: 1000, ttlMs: 24 * 60 * 60_000 });

  function invalidate(userIds: readonly string[] | '*') {
    epoch++;
    if (userIds === '*') cache.clear();
    else for (const id of userIds) cache.delete(id);
  }

  deps.events.on((event) => {
    if (event.type === 'access.changed') invalidate(event.userIds);
    else if (event.type === 'user.changed') invalidate([event.userId]);
  });
  // Changes may have been missed (the event channel dropped): decide afresh.
  deps.events.onGap(() => invalidate('*'));

  async function load(userId: string): Promise<Subject | null> {
    const result = (await db.execute(subjectQuery(userId))) as unknown as {
      rows: { k: string; v: string }[];
    };
    let username: string | null = null;
    const groups = new Set<string>();
    const permissions = new Set<string>();
    for (const row of result.rows) {
      if (row.k === 'u') username = row.v;
      else if (row.k === 'g') groups.add(row.v);
      else permissions.add(row.v);
    }
    if (username === null) return null; // unknown or disabled: passes nothing
    return Object.freeze({
      userId,
      username,
      groups,
      permissions,
      groupList: Object.freeze([...groups].sort()),
      permissionList: Object.freeze([...permissions].sort()),
    });
  }

  async function subjectOf(userId: string): Promise<Subject | null> {
    if (typeof userId !== 'string' || !UUID.test(userId)) return null;
    const key = userId.toLowerCase();
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const started = epoch;
    const subject = await load(key);
    if (started === epoch) cache.set(key, subject);
    return subject;
  }

  function compile(expression: string | Expression): Expression {
    if (typeof expression !== 'string') return expression;
    let tree = parsed.get(expression);
    if (!tree) {
      tree = parseExpression(expression);
      parsed.set(expression, tree);
    }
    return tree;
  }

  return {
    subjectOf,
    /**
     * Whether the user passes the expression; an unknown or disabled user passes nothing.
     * `permissions` narrows what `perm:` terms see (an API token's scopes): a token acts with
     * the permissions it was given that the member still holds, not with all of theirs.
     */
    async decide(
      userId: string,
      expression: string | Expression,
      opts: { permissions?: readonly string[] } = {},
    ): Promise<boolean> {
      const tree = compile(expression); // a bad expression throws before any query
      const subject = await subjectOf(userId);
      if (subject === null) return false;
      if (!opts.permissions) return evaluateExpression(tree, subject);
      const held = subject.permissions;
      const permissions = new Set(opts.permissions.filter((p) => held.has(p)));
      return evaluateExpression(tree, { ...subject, permissions });
    },
    async groupsOf(userId: string): Promise<string[]> {
      return [...((await subjectOf(userId))?.groupList ?? [])];
    },
    async permissionsOf(userId: string): Promise<string[]> {
      return [...((await subjectOf(userId))?.permissionList ?? [])];
    },
    invalidate,
    /** Uncached, for benchmarks and checks: one query. */
    load,
  };
}

export type Decisions = ReturnType<typeof createDecisions>;
