// Access groups: trees of groups addressed by paths, memberships with a role, includes between
// groups, named roles bundling permissions, grants to users and groups, and invitations.
// Every change is audited and announced on the revocation channel so every instance's
// decision cache drops what it made stale.

import { and, asc, count, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { ADMIN_PERMISSION } from '../accounts/accounts.ts';
import { users } from '../accounts/tables.ts';
import type { Audit } from '../audit/audit.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import { createDecisions } from './decisions.ts';
import { AccessError } from './errors.ts';
import { createInvitations } from './invitations.ts';
import {
  ancestorsOrSelf,
  hasIncludeCycle,
  includeWouldCycle,
  isAtOrBelow,
  parentPath,
  validPath,
  validSegment,
} from './paths.ts';
import {
  groupGrants,
  groupIncludes,
  groupMembers,
  groups,
  invitations,
  rolePermissions,
  roles,
  userRoles,
} from './tables.ts';

export type GroupRole = 'owner' | 'member';
export const GROUP_ROLES: readonly GroupRole[] = ['owner', 'member'];

/** Who is acting, for authorisation and the audit log. `userId: null` is the system (CLI). */
export interface Actor {
  userId: string | null;
  ip?: string | null;
  /**
   * false: act without administrator rights even if the user has them — an API token that
   * does not carry gatehouse:admin. Absent: the user's own rights.
   */
  admin?: boolean;
}

export interface Group {
  id: string;
  parentId: string | null;
  name: string;
  path: string;
  description: string | null;
  createdAt: Date;
}

export interface Member {
  userId: string;
  username: string;
  name: string | null;
  role: GroupRole;
  shareDepth: number;
  joinedAt: Date;
}

export interface Membership {
  group: Group;
  role: GroupRole;
  shareDepth: number;
  joinedAt: Date;
}

export interface DeletePreview {
  /** The group and every subgroup, parents first. */
  groups: string[];
  memberships: number;
  invitations: number;
  includes: number;
}

/** A permission alone or through a named role. */
export type Grant = { permission: string } | { role: string };

const PERMISSION = /^[A-Za-z0-9._:*-]{1,100}$/;
const ROLE_NAME = /^[a-z0-9._-]{1,60}$/;
const CONTROL = /\p{Cc}|\p{Cf}/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validPermission(p: unknown): p is string {
  return typeof p === 'string' && PERMISSION.test(p);
}

function cleanDescription(d: string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  const s = d.normalize('NFC').trim();
  if (s.length > 500 || CONTROL.test(s.replace(/[\n\r\t]/g, ' ')))
    throw new AccessError('DESCRIPTION_INVALID');
  return s === '' ? null : s;
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}

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
  async function standing(
    userId: string,
    path: string,
  ): Promise<{ role: GroupRole | null; shareDepth: number }> {
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

  /** Users who are members at or below `path` (whose effective groups a change there touches). */
  async function membersAtOrBelow(path: string): Promise<string[]> {
    const rows = await db
      .selectDistinct({ userId: groupMembers.userId })
      .from(groupMembers)
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .where(or(eq(groups.path, path), sql`starts_with(${groups.path}, ${`${path}/`})`));
    return rows.map((r) => r.userId);
  }

  async function includeEdges(): Promise<{ group: string; included: string }[]> {
    const rows = (await db.execute(sql`
      select a.path as "group", b.path as included from group_includes i
      join groups a on a.id = i.group_id join groups b on b.id = i.included_id`)) as unknown as {
      rows: { group: string; included: string }[];
    };
    return rows.rows;
  }

  async function anyIncludes(): Promise<boolean> {
    const [row] = await db.select({ n: count() }).from(groupIncludes);
    return (row?.n ?? 0) > 0;
  }

  async function findRole(name: string) {
    const [row] = await db.select().from(roles).where(eq(roles.name, name));
    if (!row) throw new AccessError('ROLE_NOT_FOUND');
    return row;
  }

  function checkGrant(grant: Grant): Grant {
    if ('permission' in grant) {
      if (!validPermission(grant.permission)) throw new AccessError('PERMISSION_INVALID');
      return { permission: grant.permission };
    }
    if (typeof grant.role !== 'string' || !ROLE_NAME.test(grant.role))
      throw new AccessError('ROLE_NAME_INVALID');
    return { role: grant.role };
  }

  async function userExists(userId: string) {
    if (typeof userId !== 'string' || !UUID.test(userId)) throw new AccessError('USER_NOT_FOUND');
    const [row] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!row) throw new AccessError('USER_NOT_FOUND');
  }

  async function setMembership(
    tx: Db,
    groupId: string,
    userId: string,
    role: GroupRole,
    shareDepth: number,
    invitationId: string | null,
  ) {
    // Never lowers what someone already holds: an owner accepting a member invitation stays owner.
    await tx
      .insert(groupMembers)
      .values({ groupId, userId, role, shareDepth, invitationId, createdAt: new Date(now()) })
      .onConflictDoUpdate({
        target: [groupMembers.userId, groupMembers.groupId],
        set: {
          role: sql`case when ${groupMembers.role} = 'owner' then 'owner' else excluded.role end`,
          shareDepth: sql`greatest(${groupMembers.shareDepth}, excluded.share_depth)`,
        },
      });
  }

  const api = {
    // ---- decisions: the hot path other parts call ----
    decide: decisions.decide,
    groupsOf: decisions.groupsOf,
    permissionsOf: decisions.permissionsOf,
    subjectOf: decisions.subjectOf,
    isAdmin,
    canManage,
    standing,

    // ---- groups ----
    findGroup,
    getGroup,

    /** Every group, or those at or below `under`, in path order (parents before children). */
    async listGroups(options: { under?: string } = {}): Promise<Group[]> {
      const q = db.select().from(groups);
      const rows = options.under
        ? await q
            .where(
              or(
                eq(groups.path, options.under),
                sql`starts_with(${groups.path}, ${`${options.under}/`})`,
              ),
            )
            .orderBy(asc(groups.path))
        : await q.orderBy(asc(groups.path));
      return rows;
    },

    /** Every group in path order with its direct member count and the paths it includes (/admin). */
    async listGroupsWithCounts(): Promise<(Group & { members: number; includes: string[] })[]> {
      const all = await api.listGroups();
      const counts = await db
        .select({ groupId: groupMembers.groupId, n: count() })
        .from(groupMembers)
        .groupBy(groupMembers.groupId);
      const byId = new Map(counts.map((c) => [c.groupId, c.n]));
      const pathOf = new Map(all.map((g) => [g.id, g.path]));
      const inc = await db.select().from(groupIncludes);
      return all.map((g) => ({
        ...g,
        members: byId.get(g.id) ?? 0,
        includes: inc
          .filter((i) => i.groupId === g.id)
          .map((i) => pathOf.get(i.includedId)!)
          .sort(),
      }));
    },

    async createGroup(
      actor: Actor,
      input: { path: string; description?: string | null },
    ): Promise<Group> {
      if (!validPath(input.path)) throw new AccessError('GROUP_PATH_INVALID');
      const description = cleanDescription(input.description);
      const parent = parentPath(input.path);
      let parentId: string | null = null;
      if (parent === null) await requireAdmin(actor);
      else {
        const p = await findGroup(parent);
        if (!p) throw new AccessError('PARENT_NOT_FOUND');
        await requireManage(actor, p.path);
        parentId = p.id;
      }
      const group: Group = {
        id: crypto.randomUUID(),
        parentId,
        name: input.path.slice(input.path.lastIndexOf('/') + 1),
        path: input.path,
        description,
        createdAt: new Date(now()),
      };
      try {
        await db.insert(groups).values(group);
      } catch (err) {
        if (isUniqueViolation(err)) throw new AccessError('GROUP_EXISTS');
        throw err;
      }
      await record(actor, 'group.create', `group:${group.id}`, { path: group.path });
      // A new group can be reached by members of its ancestors; their decisions do not change
      // (ancestors already grant it), and no grant sits on it yet, so nobody's cache is stale.
      return group;
    },

    async setDescription(actor: Actor, groupId: string, description: string | null) {
      const group = await getGroup(groupId);
      await requireManage(actor, group.path);
      const clean = cleanDescription(description);
      await db.update(groups).set({ description: clean }).where(eq(groups.id, group.id));
      await record(actor, 'group.describe', `group:${group.id}`, { path: group.path });
    },

    /** Renames the last segment; the subtree's paths follow. */
    async renameGroup(actor: Actor, groupId: string, name: string): Promise<Group> {
      const group = await getGroup(groupId);
      if (!validSegment(name)) throw new AccessError('GROUP_PATH_INVALID');
      await requireManageParent(actor, group);
      const parent = parentPath(group.path);
      return relocate(actor, group, parent === null ? name : `${parent}/${name}`, group.parentId);
    },

    /** Moves a group (and its subtree) under another group, or to the top with `null`. */
    async moveGroup(actor: Actor, groupId: string, newParentId: string | null): Promise<Group> {
      const group = await getGroup(groupId);
      await requireManageParent(actor, group);
      let newPath = group.name;
      let parentId: string | null = null;
      if (newParentId === null) await requireAdmin(actor);
      else {
        const parent = await getGroup(newParentId);
        if (isAtOrBelow(parent.path, group.path)) throw new AccessError('MOVE_INTO_ITSELF');
        await requireManage(actor, parent.path);
        newPath = `${parent.path}/${group.name}`;
        parentId = parent.id;
      }
      return relocate(actor, group, newPath, parentId);
    },

    /** What deleting the group would remove, for the confirmation step. */
    async deletePreview(groupId: string): Promise<DeletePreview> {
      const group = await getGroup(groupId);
      const subtree = await api.listGroups({ under: group.path });
      const ids = subtree.map((g) => g.id);
      const [m] = await db
        .select({ n: count() })
        .from(groupMembers)
        .where(inArray(groupMembers.groupId, ids));
      const [i] = await db
        .select({ n: count() })
        .from(invitations)
        .where(
          and(
            inArray(invitations.groupId, ids),
            isNull(invitations.revokedAt),
            sql`${invitations.expiresAt} > ${new Date(now())}`,
            sql`${invitations.uses} < ${invitations.maxUses}`,
          ),
        );
      const [inc] = await db
        .select({ n: count() })
        .from(groupIncludes)
        .where(or(inArray(groupIncludes.groupId, ids), inArray(groupIncludes.includedId, ids)));
      return {
        groups: subtree.map((g) => g.path),
        memberships: m?.n ?? 0,
        invitations: i?.n ?? 0,
        includes: inc?.n ?? 0,
      };
    },

    /**
     * Deletes a group. One with members or subgroups is deleted (with everything below it) only
     * with `cascade: true`, after the caller has shown `deletePreview`.
     */
    async deleteGroup(
      actor: Actor,
      groupId: string,
      options: { cascade?: boolean } = {},
    ): Promise<DeletePreview> {
      const group = await getGroup(groupId);
      await requireManageParent(actor, group);
      const preview = await api.deletePreview(group.id);
      if (!options.cascade && (preview.groups.length > 1 || preview.memberships > 0))
        throw new AccessError('GROUP_NOT_EMPTY');
      const affected = await membersAtOrBelow(group.path);
      const wide = await anyIncludes();
      await db.delete(groups).where(eq(groups.id, group.id)); // the subtree cascades
      await record(actor, 'group.delete', `group:${group.id}`, { path: group.path, ...preview });
      await changed(wide ? '*' : affected);
      return preview;
    },

    async listIncludes(groupId: string): Promise<{ includes: Group[]; includedBy: Group[] }> {
      const group = await getGroup(groupId);
      const inc = await db
        .select({ g: groups })
        .from(groupIncludes)
        .innerJoin(groups, eq(groups.id, groupIncludes.includedId))
        .where(eq(groupIncludes.groupId, group.id))
        .orderBy(asc(groups.path));
      const by = await db
        .select({ g: groups })
        .from(groupIncludes)
        .innerJoin(groups, eq(groups.id, groupIncludes.groupId))
        .where(eq(groupIncludes.includedId, group.id))
        .orderBy(asc(groups.path));
      return { includes: inc.map((r) => r.g), includedBy: by.map((r) => r.g) };
    },

    /** `groupId` gains the members of `includedId` (and of the groups above it); cycles are refused. */
    async addInclude(actor: Actor, groupId: string, includedId: string) {
      const group = await getGroup(groupId);
      const included = await getGroup(includedId);
      await requireManage(actor, group.path);
      if (group.id === included.id) throw new AccessError('INCLUDE_SELF');
      if (includeWouldCycle(await includeEdges(), group.path, included.path))
        throw new AccessError('INCLUDE_CYCLE');
      await db
        .insert(groupIncludes)
        .values({
          groupId: group.id,
          includedId: included.id,
          includedPath: included.path,
          createdAt: new Date(now()),
        })
        .onConflictDoNothing();
      await record(actor, 'group.include', `group:${group.id}`, {
        path: group.path,
        included: included.path,
      });
      await changed('*');
    },

    async removeInclude(actor: Actor, groupId: string, includedId: string) {
      const group = await getGroup(groupId);
      const included = await getGroup(includedId);
      await requireManage(actor, group.path);
      await db
        .delete(groupIncludes)
        .where(and(eq(groupIncludes.groupId, group.id), eq(groupIncludes.includedId, included.id)));
      await record(actor, 'group.uninclude', `group:${group.id}`, {
        path: group.path,
        included: included.path,
      });
      await changed('*');
    },

    // ---- members ----

    async listMembers(groupId: string): Promise<Member[]> {
      const rows = await db
        .select({
          userId: groupMembers.userId,
          username: users.username,
          name: users.name,
          role: groupMembers.role,
          shareDepth: groupMembers.shareDepth,
          joinedAt: groupMembers.createdAt,
        })
        .from(groupMembers)
        .innerJoin(users, eq(users.id, groupMembers.userId))
        .where(eq(groupMembers.groupId, groupId))
        .orderBy(asc(users.usernameKey));
      return rows as Member[];
    },

    /** The user's direct memberships, in path order. */
    async membershipsOf(userId: string): Promise<Membership[]> {
      const rows = await db
        .select({
          group: groups,
          role: groupMembers.role,
          shareDepth: groupMembers.shareDepth,
          joinedAt: groupMembers.createdAt,
        })
        .from(groupMembers)
        .innerJoin(groups, eq(groups.id, groupMembers.groupId))
        .where(eq(groupMembers.userId, userId))
        .orderBy(asc(groups.path));
      return rows as Membership[];
    },

    /** Groups the user may manage: those they own and everything below them, in path order. */
    async managedGroupsOf(userId: string): Promise<Group[]> {
      const owned = (await api.membershipsOf(userId)).filter((m) => m.role === 'owner');
      const out = new Map<string, Group>();
      for (const m of owned) {
        if ([...out.values()].some((g) => isAtOrBelow(m.group.path, g.path))) continue;
        for (const g of await api.listGroups({ under: m.group.path })) out.set(g.id, g);
      }
      return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
    },

    /** Adds or updates a member directly (owners and administrators). */
    async addMember(
      actor: Actor,
      groupId: string,
      userId: string,
      role: GroupRole = 'member',
      options: { shareDepth?: number } = {},
    ) {
      if (!GROUP_ROLES.includes(role)) throw new AccessError('ROLE_INVALID');
      const group = await getGroup(groupId);
      await requireManage(actor, group.path);
      await userExists(userId);
      const shareDepth = options.shareDepth ?? 0;
      await db
        .insert(groupMembers)
        .values({ groupId: group.id, userId, role, shareDepth, createdAt: new Date(now()) })
        .onConflictDoUpdate({
          target: [groupMembers.userId, groupMembers.groupId],
          set: { role, shareDepth },
        });
      await record(actor, 'group.member.add', `group:${group.id}`, {
        path: group.path,
        userId,
        role,
      });
      // A membership only changes this user's effective groups (includes follow it there).
      await changed([userId]);
    },

    /** Removes a member (an owner of the group or above, an administrator, or the member leaving). */
    async removeMember(actor: Actor, groupId: string, userId: string) {
      const group = await getGroup(groupId);
      const leaving = actor.userId !== null && actor.userId === userId;
      if (!leaving) await requireManage(actor, group.path);
      const [row] = await db
        .select({ role: groupMembers.role })
        .from(groupMembers)
        .where(and(eq(groupMembers.groupId, group.id), eq(groupMembers.userId, userId)));
      if (!row) throw new AccessError('NOT_A_MEMBER');
      if (leaving && row.role === 'owner') {
        const [owners] = await db
          .select({ n: count() })
          .from(groupMembers)
          .where(and(eq(groupMembers.groupId, group.id), eq(groupMembers.role, 'owner')));
        const managedAbove =
          parentPath(group.path) !== null &&
          (
            await db
              .select({ n: count() })
              .from(groupMembers)
              .innerJoin(groups, eq(groups.id, groupMembers.groupId))
              .where(
                and(
                  eq(groupMembers.role, 'owner'),
                  inArray(groups.path, ancestorsOrSelf(parentPath(group.path)!)),
                ),
              )
          )[0]!.n > 0;
        if ((owners?.n ?? 0) <= 1 && !managedAbove) throw new AccessError('LAST_OWNER');
      }
      await db
        .delete(groupMembers)
        .where(and(eq(groupMembers.groupId, group.id), eq(groupMembers.userId, userId)));
      await record(
        actor,
        leaving ? 'group.member.leave' : 'group.member.remove',
        `group:${group.id}`,
        {
          path: group.path,
          userId,
        },
      );
      await changed([userId]);
    },

    /** The member leaves the group. */
    async leave(actor: Actor & { userId: string }, groupId: string) {
      return api.removeMember(actor, groupId, actor.userId);
    },

    // ---- roles and grants (administrators) ----

    async listRoles(): Promise<
      { id: string; name: string; description: string | null; permissions: string[] }[]
    > {
      const rs = await db.select().from(roles).orderBy(asc(roles.name));
      const perms = await db.select().from(rolePermissions);
      return rs.map((r) => ({
        id: r.id,
        name: r.name,
        description: r.description,
        permissions: perms
          .filter((p) => p.roleId === r.id)
          .map((p) => p.permission)
          .sort(),
      }));
    },

    /** Creates a role, or replaces the permissions of an existing one. */
    async defineRole(
      actor: Actor,
      name: string,
      permissions: string[],
      description?: string | null,
    ) {
      await requireAdmin(actor);
      if (typeof name !== 'string' || !ROLE_NAME.test(name))
        throw new AccessError('ROLE_NAME_INVALID');
      if (
        !Array.isArray(permissions) ||
        permissions.length > 200 ||
        !permissions.every(validPermission)
      )
        throw new AccessError('PERMISSION_INVALID');
      const clean = cleanDescription(description);
      await db.transaction(async (tx) => {
        const [existing] = await tx.select().from(roles).where(eq(roles.name, name));
        const id = existing?.id ?? crypto.randomUUID();
        if (existing) await tx.update(roles).set({ description: clean }).where(eq(roles.id, id));
        else
          await tx
            .insert(roles)
            .values({ id, name, description: clean, createdAt: new Date(now()) });
        await tx.delete(rolePermissions).where(eq(rolePermissions.roleId, id));
        const unique = [...new Set(permissions)];
        if (unique.length > 0)
          await tx
            .insert(rolePermissions)
            .values(unique.map((permission) => ({ roleId: id, permission })));
      });
      await record(actor, 'role.define', `role:${name}`, { permissions });
      await changed('*');
    },

    async deleteRole(actor: Actor, name: string) {
      await requireAdmin(actor);
      const role = await findRole(name);
      await db.delete(roles).where(eq(roles.id, role.id));
      await record(actor, 'role.delete', `role:${name}`);
      await changed('*');
    },

    /** Grants a permission or a role to a user. */
    async grantToUser(actor: Actor, userId: string, grant: Grant) {
      await requireAdmin(actor);
      await userExists(userId);
      const g = checkGrant(grant);
      if ('permission' in g) {
        await db.execute(
          sql`insert into user_permissions (user_id, permission) values (${userId}, ${g.permission}) on conflict do nothing`,
        );
      } else {
        const role = await findRole(g.role);
        await db.insert(userRoles).values({ userId, roleId: role.id }).onConflictDoNothing();
      }
      await record(actor, 'grant.user', `user:${userId}`, g);
      await changed([userId]);
      // accounts caches isAdmin and the direct permissions of a user
      await events.emit({ type: 'user.changed', userId });
    },

    async revokeFromUser(actor: Actor, userId: string, grant: Grant) {
      await requireAdmin(actor);
      const g = checkGrant(grant);
      if ('permission' in g) {
        await db.execute(
          sql`delete from user_permissions where user_id = ${userId} and permission = ${g.permission}`,
        );
      } else {
        const role = await findRole(g.role);
        await db
          .delete(userRoles)
          .where(and(eq(userRoles.userId, userId), eq(userRoles.roleId, role.id)));
      }
      await record(actor, 'revoke.user', `user:${userId}`, g);
      await changed([userId]);
      await events.emit({ type: 'user.changed', userId });
    },

    /** Grants a permission or a role to every member of the group and of its subgroups. */
    async grantToGroup(actor: Actor, groupId: string, grant: Grant) {
      await requireAdmin(actor);
      const group = await getGroup(groupId);
      const g = checkGrant(grant);
      const roleId = 'role' in g ? (await findRole(g.role)).id : null;
      await db
        .insert(groupGrants)
        .values({
          id: crypto.randomUUID(),
          groupId: group.id,
          path: group.path,
          permission: 'permission' in g ? g.permission : null,
          roleId,
        })
        .onConflictDoNothing();
      await record(actor, 'grant.group', `group:${group.id}`, { path: group.path, ...g });
      await changed('*');
    },

    async revokeFromGroup(actor: Actor, groupId: string, grant: Grant) {
      await requireAdmin(actor);
      const group = await getGroup(groupId);
      const g = checkGrant(grant);
      const where =
        'permission' in g
          ? eq(groupGrants.permission, g.permission)
          : eq(groupGrants.roleId, (await findRole(g.role)).id);
      await db.delete(groupGrants).where(and(eq(groupGrants.groupId, group.id), where));
      await record(actor, 'revoke.group', `group:${group.id}`, { path: group.path, ...g });
      await changed('*');
    },

    async grantsOfGroup(groupId: string): Promise<Grant[]> {
      const rows = await db
        .select({ permission: groupGrants.permission, role: roles.name })
        .from(groupGrants)
        .leftJoin(roles, eq(roles.id, groupGrants.roleId))
        .where(eq(groupGrants.groupId, groupId));
      return rows.map((r) => (r.permission ? { permission: r.permission } : { role: r.role! }));
    },

    // ---- invitations ----
    invitations: undefined as unknown as ReturnType<typeof createInvitations>,

    /** Drops every cached decision on this instance (tests, benchmarks). */
    clearCache() {
      decisions.invalidate('*');
    },
    /** One uncached load of a subject: what a cache miss costs. */
    loadSubject: decisions.load,
  };

  async function relocate(actor: Actor, group: Group, newPath: string, parentId: string | null) {
    if (!validPath(newPath)) throw new AccessError('GROUP_PATH_INVALID');
    if (newPath === group.path && parentId === group.parentId) return group;
    const oldPath = group.path;
    try {
      await db.transaction(async (tx) => {
        // One statement rewrites the prefix of the whole subtree.
        await tx.execute(sql`
          update groups set path = ${newPath} || substr(path, ${oldPath.length + 1})
          where path = ${oldPath} or starts_with(path, ${`${oldPath}/`})`);
        // The copies of paths that decisions look up by range follow.
        await tx.execute(sql`
          update group_grants set path = ${newPath} || substr(path, ${oldPath.length + 1})
          where path = ${oldPath} or starts_with(path, ${`${oldPath}/`})`);
        await tx.execute(sql`
          update group_includes set included_path = ${newPath} || substr(included_path, ${oldPath.length + 1})
          where included_path = ${oldPath} or starts_with(included_path, ${`${oldPath}/`})`);
        await tx
          .update(groups)
          .set({ parentId, name: newPath.slice(newPath.lastIndexOf('/') + 1) })
          .where(eq(groups.id, group.id));
        const edges = (await tx.execute(sql`
          select a.path as "group", b.path as included from group_includes i
          join groups a on a.id = i.group_id join groups b on b.id = i.included_id`)) as unknown as {
          rows: { group: string; included: string }[];
        };
        if (hasIncludeCycle(edges.rows)) throw new AccessError('INCLUDE_CYCLE');
        const deepest = (await tx.execute(sql`
          select max(array_length(string_to_array(path, '/'), 1)) as d, max(length(path)) as l
          from groups where path = ${newPath} or starts_with(path, ${`${newPath}/`})`)) as unknown as {
          rows: { d: number; l: number }[];
        };
        const d = deepest.rows[0];
        if (d && (Number(d.d) > 16 || Number(d.l) > 255))
          throw new AccessError('GROUP_PATH_INVALID');
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AccessError('GROUP_EXISTS');
      throw err;
    }
    await record(
      actor,
      parentId === group.parentId ? 'group.rename' : 'group.move',
      `group:${group.id}`,
      {
        from: oldPath,
        to: newPath,
      },
    );
    // Paths changed for everyone at or below, and rules naming them may now match others.
    await changed('*');
    return { ...group, path: newPath, parentId, name: newPath.slice(newPath.lastIndexOf('/') + 1) };
  }

  api.invitations = createInvitations({
    db,
    now,
    issuer: deps.issuer,
    getGroup,
    standing,
    isAdmin,
    record,
    changed: (userId) => changed([userId]),
    setMembership,
  });

  return api;
}

export type Access = ReturnType<typeof createAccess>;
