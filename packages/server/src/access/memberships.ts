// Memberships: who is in a group, with which role and how far they may re-share it. Owners and
// administrators add and remove members; a member may leave, but not as a group's last owner.

import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import { directoryEntries } from '../accounts/directory.ts';
import type { Db } from '../store/db.ts';
import type { AccessContext } from './context.ts';
import { AccessError } from './errors.ts';
import { ancestorsOrSelf, isAtOrBelow, parentPath } from './paths.ts';
import { groupMembers, groups } from './tables.ts';
import {
  type Actor,
  GROUP_ROLES,
  type Group,
  type GroupRole,
  type Member,
  type Membership,
} from './types.ts';

/**
 * Makes the user a member inside `tx` (accepting an invitation). Never lowers what someone
 * already holds: an owner accepting a member invitation stays owner.
 */
export async function setMembership(
  tx: Db,
  m: {
    groupId: string;
    userId: string;
    role: GroupRole;
    shareDepth: number;
    invitationId: string | null;
    createdAt: Date;
  },
) {
  await tx
    .insert(groupMembers)
    .values(m)
    .onConflictDoUpdate({
      target: [groupMembers.userId, groupMembers.groupId],
      set: {
        role: sql`case when ${groupMembers.role} = 'owner' then 'owner' else excluded.role end`,
        shareDepth: sql`greatest(${groupMembers.shareDepth}, excluded.share_depth)`,
      },
    });
}

export function createMemberships(
  ctx: AccessContext,
  deps: { listGroups(options: { under?: string }): Promise<Group[]> },
) {
  const { db, now, record, changed, getGroup, requireManage, userExists } = ctx;

  /** The user's direct memberships, in path order. */
  async function membershipsOf(userId: string): Promise<Membership[]> {
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
  }

  /** Removes a member (an owner of the group or above, an administrator, or the member leaving). */
  async function removeMember(actor: Actor, groupId: string, userId: string) {
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
  }

  return {
    async listMembers(groupId: string): Promise<Member[]> {
      const rows = await db
        .select({
          userId: groupMembers.userId,
          role: groupMembers.role,
          shareDepth: groupMembers.shareDepth,
          joinedAt: groupMembers.createdAt,
        })
        .from(groupMembers)
        .where(eq(groupMembers.groupId, groupId));
      const byUser = new Map(rows.map((row) => [row.userId, row]));
      const entries = await directoryEntries(
        db,
        rows.map((row) => row.userId),
      );
      return entries.map((entry) => {
        const row = byUser.get(entry.id) as (typeof rows)[number];
        return { ...row, username: entry.username, name: entry.name, role: row.role as GroupRole };
      });
    },

    membershipsOf,

    /** Groups the user may manage: those they own and everything below them, in path order. */
    async managedGroupsOf(userId: string): Promise<Group[]> {
      const owned = (await membershipsOf(userId)).filter((m) => m.role === 'owner');
      const out = new Map<string, Group>();
      for (const m of owned) {
        if ([...out.values()].some((g) => isAtOrBelow(m.group.path, g.path))) continue;
        for (const g of await deps.listGroups({ under: m.group.path })) out.set(g.id, g);
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

    removeMember,

    /** The member leaves the group. */
    async leave(actor: Actor & { userId: string }, groupId: string) {
      return removeMember(actor, groupId, actor.userId);
    },
  };
}
