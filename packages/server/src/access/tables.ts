// Access groups (trees addressed by paths), memberships with a role, includes between groups,
// named roles bundling permissions, permission grants to users and groups, and invitations.

import { sql } from 'drizzle-orm';
import {
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { users } from '../accounts/tables.ts';

export const groups = pgTable(
  'groups',
  {
    id: uuid('id').primaryKey(),
    /** Null for the root of a tree. Deleting a group deletes its subtree (the code asks first). */
    parentId: uuid('parent_id').references((): never => groups.id as never, {
      onDelete: 'cascade',
    }),
    /** The last segment of the path. */
    name: text('name').notNull(),
    /**
     * The full path, kept in step with the parent chain on rename and move, so that "is X at
     * or below Y" is a string comparison and a decision needs no walk up the tree.
     */
    path: text('path').notNull(),
    description: text('description'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    // text_pattern_ops lets `path like 'a/b/%'` use the index whatever the collation.
    uniqueIndex('groups_path').using('btree', sql`${t.path} text_pattern_ops`),
    index('groups_parent').on(t.parentId),
  ],
);

export const groupMembers = pgTable(
  'group_members',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** 'owner' manages the group and everything below it; 'member' passes it. */
    role: text('role').notNull(),
    /**
     * How many further levels of invitation this member may pass on: 0 cannot invite, n may
     * create invitations whose joiners get at most n - 1. Owners are not limited.
     */
    shareDepth: integer('share_depth').notNull().default(0),
    invitationId: uuid('invitation_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.groupId] }),
    index('group_members_group').on(t.groupId),
    check('group_members_role', sql`${t.role} in ('owner', 'member')`),
  ],
);

/** "groupId includes the members of includedId" (the seed's symlink). */
export const groupIncludes = pgTable(
  'group_includes',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    includedId: uuid('included_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    /** The included group's path (kept in step on rename and move), for range look-ups. */
    includedPath: text('included_path').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.includedId] }),
    index('group_includes_included').on(t.includedId),
    index('group_includes_included_path').using('btree', sql`${t.includedPath} text_pattern_ops`),
  ],
);

/** A named bundle of permissions (e.g. "booking-admin": booking:admin, booking:write). */
export const roles = pgTable('roles', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  description: text('description'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
});

export const rolePermissions = pgTable(
  'role_permissions',
  {
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    permission: text('permission').notNull(),
  },
  (t) => [primaryKey({ columns: [t.roleId, t.permission] })],
);

export const userRoles = pgTable(
  'user_roles',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.roleId] })],
);

/** A permission, or a role's permissions, for every member of a group and of its subgroups. */
export const groupGrants = pgTable(
  'group_grants',
  {
    id: uuid('id').primaryKey(),
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    /** The group's path (kept in step on rename and move): a decision finds grants by range. */
    path: text('path').notNull(),
    permission: text('permission'),
    roleId: uuid('role_id').references(() => roles.id, { onDelete: 'cascade' }),
  },
  (t) => [
    index('group_grants_group').on(t.groupId),
    index('group_grants_path').using('btree', sql`${t.path} text_pattern_ops`),
    unique('group_grants_unique').on(t.groupId, t.permission, t.roleId).nullsNotDistinct(),
    check('group_grants_one', sql`(${t.permission} is null) <> (${t.roleId} is null)`),
  ],
);

export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').primaryKey(),
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    /** Hex SHA-256 of the link's secret. */
    secretHash: text('secret_hash').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').notNull(),
    /** The share depth given to people who join through it (0: they cannot invite). */
    shareDepth: integer('share_depth').notNull().default(0),
    maxUses: integer('max_uses').notNull(),
    uses: integer('uses').notNull().default(0),
    note: text('note'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    index('invitations_group').on(t.groupId),
    check('invitations_role', sql`${t.role} in ('owner', 'member')`),
    check('invitations_uses', sql`${t.uses} <= ${t.maxUses}`),
  ],
);

/** Who accepted which invitation: one use per person, so a double accept costs nothing. */
export const invitationUses = pgTable(
  'invitation_uses',
  {
    invitationId: uuid('invitation_id')
      .notNull()
      .references(() => invitations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    usedAt: timestamp('used_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.invitationId, t.userId] })],
);
