// What every section of the access domain shares: the store and clock, the audit record, the
// change announcement that keeps every instance's decision cache fresh, group look-up, and who
// may act where (administrators everywhere, owners of a group over everything below it).

import { and, eq, inArray } from 'drizzle-orm';
import { ADMIN_PERMISSION } from '../accounts/accounts.ts';
import { accountExists } from '../accounts/directory.ts';
import type { Audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import type { Decisions } from './decisions.ts';
import { AccessError } from './errors.ts';
import { ancestorsOrSelf, parentPath, validPath } from './paths.ts';
import { groupMembers, groups } from './tables.ts';
import { type Actor, type Group, type Standing, UUID } from './types.ts';

export function createAccessContext(deps: {
  db: Db;
  events: EventBus;
  audit: Audit;
  now: () => number;
  decisions: Decisions;
}) {
  const { db, events, audit, now, decisions } = deps;

  /** Announces a change: this instance's cache first (emit dispatches locally), then everyone. */
  async function changed(userIds: string[] | '*') {
    if (userIds !== '*' && userIds.length === 0) return;
    await events.emit({ type: 'access.changed', userIds });
  }

  async function record(actor: Actor, action: string, target: string, details?: object) {
    await audit.record({
      actorId: actor.userId,
      action,
      target,
      ip: actor.ip ?? null,
      details: (details as Record<string, unknown>) ?? null,
    });
  }

  async function isAdmin(userId: string | null): Promise<boolean> {
    if (userId === null) return true; // the system: the CLI and set-up
    const subject = await decisions.subjectOf(userId);
    return subject?.permissions.has(ADMIN_PERMISSION) ?? false;
  }

  /** Does the actor act with administrator rights? */
  async function actsAsAdmin(actor: Actor): Promise<boolean> {
    return actor.admin !== false && (await isAdmin(actor.userId));
  }

  async function requireAdmin(actor: Actor) {
    if (!(await actsAsAdmin(actor))) throw new AccessError('ADMIN_REQUIRED');
  }

  async function findGroup(idOrPath: string): Promise<Group | null> {
    if (typeof idOrPath !== 'string') return null;
    if (UUID.test(idOrPath)) {
      const [row] = await db.select().from(groups).where(eq(groups.id, idOrPath.toLowerCase()));
      return row ?? null;
    }
    if (!validPath(idOrPath)) return null;
    const [row] = await db.select().from(groups).where(eq(groups.path, idOrPath));
    return row ?? null;
  }

  async function getGroup(idOrPath: string): Promise<Group> {
    const group = await findGroup(idOrPath);
    if (!group) throw new AccessError('GROUP_NOT_FOUND');
    return group;
  }

  /**
   * The user's strongest standing over `path`: their direct memberships of it or of any group
   * above it. Owners of a group own everything below.
   */
  async function standing(userId: string, path: string): Promise<Standing> {
    const rows = await db
      .select({ role: groupMembers.role, shareDepth: groupMembers.shareDepth })
      .from(groupMembers)
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .where(and(eq(groupMembers.userId, userId), inArray(groups.path, ancestorsOrSelf(path))));
    if (rows.length === 0) return { role: null, shareDepth: 0 };
    if (rows.some((r) => r.role === 'owner')) return { role: 'owner', shareDepth: Infinity };
    return { role: 'member', shareDepth: Math.max(...rows.map((r) => r.shareDepth)) };
  }

  /** May the actor manage (members, invitations, subgroups of) the group at `path`? */
  async function canManage(actor: Actor, path: string): Promise<boolean> {
    if (await actsAsAdmin(actor)) return true;
    return (await standing(actor.userId!, path)).role === 'owner';
  }

  async function requireManage(actor: Actor, path: string) {
    if (!(await canManage(actor, path))) throw new AccessError('FORBIDDEN');
  }

  /** Rename, move and delete act on a group's place in its parent: the parent's owners decide. */
  async function requireManageParent(actor: Actor, group: Group) {
    const parent = parentPath(group.path);
    if (parent === null) await requireAdmin(actor);
    else await requireManage(actor, parent);
  }

  async function userExists(userId: string) {
    if (!(await accountExists(db, userId))) throw new AccessError('USER_NOT_FOUND');
  }

  return {
    db,
    events,
    now,
    changed,
    record,
    isAdmin,
    actsAsAdmin,
    requireAdmin,
    findGroup,
    getGroup,
    standing,
    canManage,
    requireManage,
    requireManageParent,
    userExists,
  };
}

export type AccessContext = ReturnType<typeof createAccessContext>;
