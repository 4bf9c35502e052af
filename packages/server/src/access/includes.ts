// Includes: a group gains the members of another (and of the groups above it). A new include
// that would make membership flow in a circle is refused.

import { and, asc, eq, sql } from 'drizzle-orm';
import type { AccessContext } from './context.ts';
import { AccessError } from './errors.ts';
import { includeWouldCycle } from './paths.ts';
import { groupIncludes, groups } from './tables.ts';
import type { Actor, Group } from './types.ts';

export function createIncludes(ctx: AccessContext) {
  const { db, now, record, changed, getGroup, requireManage } = ctx;

  async function includeEdges(): Promise<{ group: string; included: string }[]> {
    const rows = (await db.execute(sql`
      select a.path as "group", b.path as included from group_includes i
      join groups a on a.id = i.group_id join groups b on b.id = i.included_id`)) as unknown as {
      rows: { group: string; included: string }[];
    };
    return rows.rows;
  }

  return {
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
  };
}
