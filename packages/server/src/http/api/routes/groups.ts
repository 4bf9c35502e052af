// Access groups and their members, for the members who manage them, and the member's own
// memberships. The access domain (gh.access) decides who may do what — owners of a group or of
// a group above it, administrators, a member leaving — and refuses with AccessError, which the
// pipeline turns into `{ error: { code, message } }` with its status. Every change is audited
// by the domain. Invitations are in invitations.ts, roles and grants in roles.ts.

import { z } from 'zod';
import { AccessError } from '../../../access/errors.ts';
import { memberJson } from '../../../access/json.ts';
import { HttpError } from '../../errors.ts';
import { defineRoute } from '../define.ts';
import { checkListCursor, pageOf, pageQuery, paginateList } from '../pagination.ts';
import { GROUPS_READ, GROUPS_WRITE } from '../scopes.ts';
import {
  actor,
  byPath,
  groupJson,
  groupParams,
  groupSchema,
  managedGroup,
  role,
  time,
} from './access-shared.ts';

const membershipSchema = z.object({
  group: groupSchema,
  role,
  share_depth: z.number().describe('How far you may pass invitations on (0: not at all).'),
  joined_at: time,
});

const memberSchema = z.object({
  user_id: z.string(),
  username: z.string(),
  name: z.string().nullable(),
  role,
  share_depth: z.number(),
  joined_at: time,
});

// ---- the member's own groups ----

export const listMyGroups = defineRoute({
  id: 'listMyGroups',
  method: 'GET',
  path: '/api/v1/me/groups',
  summary: 'Your direct group memberships, with your role in each',
  description:
    'Membership of a group also makes you a member of every group below it; those are not listed separately.',
  tags: ['me', 'groups'],
  scope: GROUPS_READ,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(membershipSchema),
  async handler({ gh, user, query }) {
    const page = paginateList(await gh.access.membershipsOf(user.id), query, (m) =>
      byPath(m.group),
    );
    return {
      items: page.items.map((m) => ({
        group: groupJson(m.group),
        role: m.role,
        share_depth: m.shareDepth,
        joined_at: m.joinedAt.toISOString(),
      })),
      next_cursor: page.next_cursor,
    };
  },
});

export const leaveGroup = defineRoute({
  id: 'leaveGroup',
  method: 'DELETE',
  path: '/api/v1/me/groups/{id}',
  summary: 'Leave a group',
  description:
    'Takes effect everywhere at once. The only owner of a group with no owner above it cannot leave (409 LAST_OWNER).',
  tags: ['me', 'groups'],
  scope: GROUPS_WRITE,
  params: groupParams,
  errors: { 404: 'No such group, or you are not a direct member.', 409: 'LAST_OWNER' },
  async handler(ctx) {
    await ctx.gh.access.leave(actor(ctx), ctx.params.id);
  },
});

// ---- groups ----

export const listGroups = defineRoute({
  id: 'listGroups',
  method: 'GET',
  path: '/api/v1/groups',
  summary: 'Groups you manage, in path order',
  description:
    'Administrators (signed in, or with a token carrying gatehouse:admin) see every group; other members see the groups they own and everything below them. Your memberships are at /api/v1/me/groups.',
  tags: ['groups'],
  scope: GROUPS_READ,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(groupSchema),
  async handler(ctx) {
    const { gh, user, query } = ctx;
    const groups =
      user.isAdmin && actor(ctx).admin
        ? await gh.access.listGroups()
        : await gh.access.managedGroupsOf(user.id);
    const page = paginateList(groups, query, byPath);
    return { items: page.items.map(groupJson), next_cursor: page.next_cursor };
  },
});

export const createGroup = defineRoute({
  id: 'createGroup',
  method: 'POST',
  path: '/api/v1/groups',
  summary: 'Create a group',
  description:
    'Owners of the parent group create subgroups; only administrators create top-level groups. Segments are lowercase letters, digits, ".", "_" or "-".',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  idempotent: true,
  body: z.strictObject({
    path: z.string().min(1).max(255),
    description: z.string().max(500).nullable().optional(),
  }),
  status: 201,
  response: groupSchema,
  errors: {
    403: 'You do not own the parent group (FORBIDDEN), or a top-level group needs an administrator (ADMIN_REQUIRED).',
    404: 'The parent group does not exist (PARENT_NOT_FOUND).',
    409: 'A group with that path exists (GROUP_EXISTS).',
  },
  async handler(ctx) {
    return groupJson(
      await ctx.gh.access.createGroup(actor(ctx), {
        path: ctx.body.path,
        description: ctx.body.description ?? null,
      }),
    );
  },
});

export const getGroup = defineRoute({
  id: 'getGroup',
  method: 'GET',
  path: '/api/v1/groups/{id}',
  summary: 'A group',
  description:
    'For its members (directly or through a group above it), the owners above it and administrators.',
  tags: ['groups'],
  scope: GROUPS_READ,
  params: groupParams,
  response: groupSchema.extend({
    your_role: role.nullable().describe('Your standing here, counting groups above it.'),
    manage: z.boolean().describe('Whether you may manage it (members, invitations, subgroups).'),
  }),
  async handler(ctx) {
    const { gh } = ctx;
    const group = await gh.access.getGroup(ctx.params.id);
    const standing = await gh.access.standing(ctx.user.id, group.path);
    const manage = await gh.access.canManage(actor(ctx), group.path);
    if (!manage && standing.role === null) throw new AccessError('FORBIDDEN');
    return { ...groupJson(group), your_role: standing.role, manage };
  },
});

export const updateGroup = defineRoute({
  id: 'updateGroup',
  method: 'PATCH',
  path: '/api/v1/groups/{id}',
  summary: 'Rename, move or describe a group',
  description:
    'Fields left out are unchanged. Renaming and moving act on the group’s place in its parent, so the parent’s owners decide (administrators at the top level); moving also needs ownership of the new parent. `parent_id: null` moves a group to the top (administrators). The subtree follows; memberships are kept.',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  params: groupParams,
  body: z.strictObject({
    name: z.string().min(1).max(255).optional().describe('The new last segment of the path.'),
    parent_id: z.uuid().nullable().optional(),
    description: z.string().max(500).nullable().optional(),
  }),
  response: groupSchema,
  errors: {
    400: 'The name is not a valid path segment, or the path would be too long or deep (GROUP_PATH_INVALID).',
    409: 'The new path is taken (GROUP_EXISTS), or the move would put a group inside itself (MOVE_INTO_ITSELF) or make includes circular (INCLUDE_CYCLE).',
  },
  async handler(ctx) {
    const { gh, body, params } = ctx;
    const who = actor(ctx);
    await gh.access.getGroup(params.id);
    if (body.name === undefined && body.parent_id === undefined && body.description === undefined)
      throw new HttpError('BAD_REQUEST', {
        message: 'Invalid request: body: give at least one of name, parent_id, description.',
      });
    if (body.description !== undefined)
      await gh.access.setDescription(who, params.id, body.description);
    if (body.parent_id !== undefined) await gh.access.moveGroup(who, params.id, body.parent_id);
    if (body.name !== undefined) await gh.access.renameGroup(who, params.id, body.name);
    return groupJson(await gh.access.getGroup(params.id));
  },
});

export const deleteGroup = defineRoute({
  id: 'deleteGroup',
  method: 'DELETE',
  path: '/api/v1/groups/{id}',
  summary: 'Delete a group',
  description:
    'A group with members or subgroups is deleted only with `?cascade=true`; without it the answer is 409 GROUP_NOT_EMPTY with `error.would_remove` listing the groups and counting the memberships, pending invitations and includes that would go. The parent’s owners decide (administrators at the top level).',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  params: groupParams,
  query: z.strictObject({
    cascade: z
      .enum(['true', 'false'])
      .optional()
      .describe('Delete subgroups, memberships and invitations too.'),
  }),
  errors: { 409: 'The group is not empty and cascade was not asked for (GROUP_NOT_EMPTY).' },
  async handler(ctx) {
    const { gh, params, query } = ctx;
    try {
      await gh.access.deleteGroup(actor(ctx), params.id, { cascade: query.cascade === 'true' });
    } catch (err) {
      if (!(err instanceof AccessError) || err.code !== 'GROUP_NOT_EMPTY') throw err;
      const preview = await gh.access.deletePreview(params.id);
      throw new AccessError('GROUP_NOT_EMPTY', { would_remove: preview });
    }
  },
});

export const listGroupMembers = defineRoute({
  id: 'listGroupMembers',
  method: 'GET',
  path: '/api/v1/groups/{id}/members',
  summary: 'The direct members of a group, in username order',
  description: 'For the group’s owners (and owners above it) and administrators.',
  tags: ['groups'],
  scope: GROUPS_READ,
  params: groupParams,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(memberSchema),
  async handler(ctx) {
    checkListCursor(ctx.query);
    const group = await managedGroup(ctx);
    const members = await ctx.gh.access.listMembers(group.id);
    const page = paginateList(members, ctx.query, (m) => [m.username.toLowerCase(), m.userId]);
    return {
      items: page.items.map(memberJson),
      next_cursor: page.next_cursor,
    };
  },
});

export const addGroupMember = defineRoute({
  id: 'addGroupMember',
  method: 'POST',
  path: '/api/v1/groups/{id}/members',
  summary: 'Add a member, or change a member’s role',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  params: groupParams,
  body: z.strictObject({
    user_id: z.uuid(),
    role: role.optional().describe('Default member.'),
    share_depth: z.number().int().min(0).max(10).optional(),
  }),
  errors: { 404: 'No such group or user.' },
  async handler(ctx) {
    const { gh, params, body } = ctx;
    await gh.access.addMember(actor(ctx), params.id, body.user_id, body.role ?? 'member', {
      shareDepth: body.share_depth ?? 0,
    });
  },
});

export const removeGroupMember = defineRoute({
  id: 'removeGroupMember',
  method: 'DELETE',
  path: '/api/v1/groups/{id}/members/{userId}',
  summary: 'Remove a member',
  description: 'Takes effect everywhere at once (forward auth, SDK leases, sessions’ groups).',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  params: z.strictObject({ id: z.uuid(), userId: z.uuid() }),
  errors: { 404: 'No such group, or that person is not a direct member (NOT_A_MEMBER).' },
  async handler(ctx) {
    await ctx.gh.access.removeMember(actor(ctx), ctx.params.id, ctx.params.userId);
  },
});

export const groupRoutes = [
  listMyGroups,
  leaveGroup,
  listGroups,
  createGroup,
  getGroup,
  updateGroup,
  deleteGroup,
  listGroupMembers,
  addGroupMember,
  removeGroupMember,
];
