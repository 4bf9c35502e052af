// Groups: a tree addressed by paths. Creating, describing, renaming, moving (the subtree's paths
// follow in one statement) and deleting (with everything below, after a preview).

import { and, asc, count, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { AccessContext } from './context.ts';
import { AccessError } from './errors.ts';
import { hasIncludeCycle, isAtOrBelow, parentPath, validPath, validSegment } from './paths.ts';
import { groupIncludes, groupMembers, groups, invitations } from './tables.ts';
import {
  type Actor,
  cleanDescription,
  type DeletePreview,
  type Group,
  isUniqueViolation,
} from './types.ts';

export function createGroups(ctx: AccessContext) {
  const { db, now, record, changed, getGroup, findGroup } = ctx;
  const { requireAdmin, requireManage, requireManageParent } = ctx;

  /** Every group, or those at or below `under`, in path order (parents before children). */
  async function listGroups(options: { under?: string } = {}): Promise<Group[]> {
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

  async function anyIncludes(): Promise<boolean> {
    const [row] = await db.select({ n: count() }).from(groupIncludes);
    return (row?.n ?? 0) > 0;
  }

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

  /** What deleting the group would remove, for the confirmation step. */
  async function deletePreview(groupId: string): Promise<DeletePreview> {
    const group = await getGroup(groupId);
    const subtree = await listGroups({ under: group.path });
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
  }

  return {
    findGroup,
    getGroup,
    listGroups,

    /** Every group in path order with its direct member count and the paths it includes (/admin). */
    async listGroupsWithCounts(): Promise<(Group & { members: number; includes: string[] })[]> {
      const all = await listGroups();
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

    deletePreview,

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
      const preview = await deletePreview(group.id);
      if (!options.cascade && (preview.groups.length > 1 || preview.memberships > 0))
        throw new AccessError('GROUP_NOT_EMPTY');
      const affected = await membersAtOrBelow(group.path);
      const wide = await anyIncludes();
      await db.delete(groups).where(eq(groups.id, group.id)); // the subtree cascades
      await record(actor, 'group.delete', `group:${group.id}`, { path: group.path, ...preview });
      await changed(wide ? '*' : affected);
      return preview;
    },
  };
}
