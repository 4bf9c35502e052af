// Access groups: trees of groups addressed by paths, memberships with a role, includes between
// groups, named roles bundling permissions, grants to users and groups, and invitations.
// Every change is audited and announced on the revocation channel so every instance's
// decision cache drops what it made stale.
//
// One file per section, composed here into the one service the rest of Gatehouse uses:
//   context.ts      what the sections share: audit, change announcements, group look-up, rights
//   groups.ts       the tree: create, describe, rename, move, delete
//   includes.ts     a group gaining another's members
//   memberships.ts  members, their roles and re-sharing depth, leaving
//   roles.ts        roles and grants (administrators)
//   invitations.ts  links to join a group
//   decisions.ts    "may user U pass expression E?", cached
//   types.ts        the types and checks they all speak

import type { Audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import { createAccessContext } from './context.ts';
import { createDecisions } from './decisions.ts';
import { createGroups } from './groups.ts';
import { createIncludes } from './includes.ts';
import { createInvitations } from './invitations.ts';
import { createMemberships } from './memberships.ts';
import { createRoles } from './roles.ts';

export function createAccess(deps: {
  db: Db;
  events: EventBus;
  audit: Audit;
  now?: () => number;
  onError?: (err: unknown) => void;
  /** The public base URL, for invitation links. */
  issuer?: string;
  cacheSize?: number;
  cacheTtlMs?: number;
}) {
  const { db, events, audit } = deps;
  const now = deps.now ?? Date.now;
  const decisions = createDecisions({
    db,
    events,
    now,
    cacheSize: deps.cacheSize,
    cacheTtlMs: deps.cacheTtlMs,
  });
  const ctx = createAccessContext({ db, events, audit, now, decisions });
  const groups = createGroups(ctx);

  return {
    // ---- decisions: the hot path other parts call ----
    decide: decisions.decide,
    groupsOf: decisions.groupsOf,
    permissionsOf: decisions.permissionsOf,
    subjectOf: decisions.subjectOf,
    isAdmin: ctx.isAdmin,
    canManage: ctx.canManage,
    standing: ctx.standing,

    ...groups,
    ...createIncludes(ctx),
    ...createMemberships(ctx, { listGroups: groups.listGroups }),
    ...createRoles(ctx),
    invitations: createInvitations(ctx, { issuer: deps.issuer }),

    /** Drops every cached decision on this instance (tests, benchmarks). */
    clearCache() {
      decisions.invalidate('*');
    },
    /** One uncached load of a subject: what a cache miss costs. */
    loadSubject: decisions.load,
  };
}

export type Access = ReturnType<typeof createAccess>;
