// Roles and grants (administrators): named roles bundle permissions; a permission or a role is
// granted to a user, or to a group and so to every member of it and of its subgroups.

import { and, asc, eq, sql } from 'drizzle-orm';
import type { AccessContext } from './context.ts';
import { AccessError } from './errors.ts';
import { groupGrants, rolePermissions, roles, userRoles } from './tables.ts';
import { type Actor, cleanDescription, type Grant, ROLE_NAME, validPermission } from './types.ts';

export function createRoles(ctx: AccessContext) {
  const { db, now, events, record, changed, getGroup, requireAdmin, userExists } = ctx;

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

  return {
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
  };
}
