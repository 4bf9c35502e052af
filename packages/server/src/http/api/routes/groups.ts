// Access groups, their members and invitations, for the members who manage them; the member's
// own memberships; and roles and grants for administrators. The access domain (gh.access)
// decides who may do what — owners of a group or of a group above it, administrators, a
// member leaving — and refuses with AccessError, which the pipeline turns into
// `{ error: { code, message } }` with its status. Every change is audited by the domain.

import { z } from 'zod';
import { AccessError } from '../../../access/errors.ts';
import type { Actor, Grant, Group, GroupRole, Invitation } from '../../../access/types.ts';
import { parseDuration } from '../../../config/duration.ts';
import { HttpError } from '../../errors.ts';
import { type ApiContext, defineRoute } from '../define.ts';
import { checkListCursor, pageOf, pageQuery, paginateList } from '../pagination.ts';
import { ADMIN_SCOPE, GROUPS_READ, GROUPS_WRITE } from '../scopes.ts';

const time = z.string().describe('ISO 8601 date and time (UTC)');
const role = z.enum(['owner', 'member']);
const groupParams = z.strictObject({ id: z.uuid() });

export const groupSchema = z.object({
  id: z.string(),
  path: z.string().describe('Segments joined by "/", such as members/workshop/laser.'),
  name: z.string(),
  parent_id: z.string().nullable(),
  description: z.string().nullable(),
  created_at: time,
});

function groupJson(g: Group): z.input<typeof groupSchema> {
  return {
    id: g.id,
    path: g.path,
    name: g.name,
    parent_id: g.parentId,
    description: g.description,
    created_at: g.createdAt.toISOString(),
  };
}

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

const invitationSchema = z.object({
  id: z.string(),
  group_id: z.string(),
  group_path: z.string(),
  role,
  share_depth: z.number(),
  max_uses: z.number(),
  uses: z.number(),
  note: z.string().nullable(),
  status: z.enum(['pending', 'revoked', 'expired', 'used-up']),
  expires_at: time,
  revoked_at: time.nullable(),
  created_at: time,
  created_by: z.string().nullable().describe('The inviter’s username.'),
});

function invitationJson(i: Invitation): z.input<typeof invitationSchema> {
  return {
    id: i.id,
    group_id: i.groupId,
    group_path: i.groupPath,
    role: i.role,
    share_depth: i.shareDepth,
    max_uses: i.maxUses,
    uses: i.uses,
    note: i.note,
    status: i.status,
    expires_at: i.expiresAt.toISOString(),
    revoked_at: i.revokedAt?.toISOString() ?? null,
    created_at: i.createdAt.toISOString(),
    created_by: i.createdByUsername,
  };
}

const byPath = (g: Group): [string, string] => [g.path, g.id];

/**
 * The member, acting with administrator rights only through a session or a token carrying
 * gatehouse:admin: an administrator's token scoped to groups:write manages only what they own.
 */
function actor(ctx: ApiContext<unknown, unknown, unknown>): Actor & { userId: string } {
  const admin = ctx.auth.kind === 'session' || ctx.auth.scopes.includes(ADMIN_SCOPE);
  return { userId: ctx.user.id, ip: ctx.address, admin };
}

/** The group, if the caller manages it (an owner at or above it, or an administrator). */
async function managedGroup(ctx: ApiContext<{ id: string }, unknown, unknown>): Promise<Group> {
  const group = await ctx.gh.access.getGroup(ctx.params.id);
  if (!(await ctx.gh.access.canManage(actor(ctx), group.path))) throw new AccessError('FORBIDDEN');
  return group;
}

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

export const acceptInvitation = defineRoute({
  id: 'acceptInvitation',
  method: 'POST',
  path: '/api/v1/invitations/accept',
  summary: 'Accept an invitation',
  description:
    'The token is the last part of the invitation link (`…/invite/<token>`). Accepting twice is harmless (`already_member: true`).',
  tags: ['me', 'groups'],
  scope: GROUPS_WRITE,
  body: z.strictObject({ token: z.string().min(1).max(200) }),
  response: z.object({ group: groupSchema, role, already_member: z.boolean() }),
  errors: {
    404: 'The token is not a genuine invitation (INVITATION_INVALID).',
    410: 'The invitation was revoked, has expired or is used up.',
  },
  async handler(ctx) {
    const result = await ctx.gh.access.invitations.accept(actor(ctx), ctx.body.token);
    return {
      group: groupJson(result.group),
      role: result.role,
      already_member: result.alreadyMember,
    };
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
      items: page.items.map((m) => ({
        user_id: m.userId,
        username: m.username,
        name: m.name,
        role: m.role,
        share_depth: m.shareDepth,
        joined_at: m.joinedAt.toISOString(),
      })),
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

export const listGroupInvitations = defineRoute({
  id: 'listGroupInvitations',
  method: 'GET',
  path: '/api/v1/groups/{id}/invitations',
  summary: 'Invitations to a group, newest first',
  description:
    'For the group’s owners and administrators. The links themselves are never shown again.',
  tags: ['groups'],
  scope: GROUPS_READ,
  params: groupParams,
  query: z.strictObject({
    ...pageQuery,
    pending: z.enum(['true', 'false']).optional().describe('Only those that can still be used.'),
  }),
  response: pageOf(invitationSchema),
  async handler(ctx) {
    checkListCursor(ctx.query);
    const group = await managedGroup(ctx);
    const list = await ctx.gh.access.invitations.list(group.id, {
      pending: ctx.query.pending === 'true',
    });
    // Newest first: order by the negated creation time.
    const page = paginateList(list, ctx.query, (i) => [-i.createdAt.getTime(), i.id]);
    return { items: page.items.map(invitationJson), next_cursor: page.next_cursor };
  },
});

export const createGroupInvitation = defineRoute({
  id: 'createGroupInvitation',
  method: 'POST',
  path: '/api/v1/groups/{id}/invitations',
  summary: 'Invite people to a group',
  description:
    'Returns the link once; only a hash of its secret is kept. Owners invite with either role; members who joined through an invitation allowing re-sharing may invite further, never with more than they hold.',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  idempotent: true,
  params: groupParams,
  body: z.strictObject({
    role: role.optional().describe('Default member.'),
    max_uses: z
      .number()
      .int()
      .optional()
      .describe('How many people may use it, 1 to 10000; default 1.'),
    expires_in: z
      .string()
      .max(20)
      .optional()
      .describe('A duration such as 7d or 12h, one minute to one year; default 7d.'),
    share_depth: z
      .number()
      .int()
      .optional()
      .describe('How far people who join may invite others, 0 (default) to 10.'),
    note: z.string().max(200).nullable().optional(),
  }),
  status: 201,
  response: invitationSchema.extend({
    url: z.string().describe('The invitation link. Shown once.'),
  }),
  errors: {
    403: 'You may not invite to this group (INVITE_NOT_ALLOWED), or not with that role or depth (ROLE_TOO_HIGH, SHARE_DEPTH_TOO_HIGH).',
  },
  async handler(ctx) {
    const { gh, params, body } = ctx;
    let expiresInMs: number | undefined;
    if (body.expires_in !== undefined) {
      expiresInMs = parseDuration(body.expires_in) ?? Number.NaN;
      if (!Number.isFinite(expiresInMs)) throw new AccessError('EXPIRY_INVALID');
    }
    const { url, invitation } = await gh.access.invitations.create(actor(ctx), {
      groupId: params.id,
      role: body.role as GroupRole | undefined,
      maxUses: body.max_uses,
      expiresInMs,
      shareDepth: body.share_depth,
      note: body.note ?? null,
    });
    return { ...invitationJson(invitation), url };
  },
});

export const revokeGroupInvitation = defineRoute({
  id: 'revokeGroupInvitation',
  method: 'DELETE',
  path: '/api/v1/groups/{id}/invitations/{invitationId}',
  summary: 'Revoke an invitation',
  description:
    'Its inviter, the group’s owners and administrators may. People who already joined stay members.',
  tags: ['groups'],
  scope: GROUPS_WRITE,
  params: z.strictObject({ id: z.uuid(), invitationId: z.uuid() }),
  async handler(ctx) {
    const { gh, params } = ctx;
    const group = await gh.access.getGroup(params.id);
    const invitation = await gh.access.invitations.get(params.invitationId);
    if (!invitation || invitation.groupId !== group.id)
      throw new AccessError('INVITATION_NOT_FOUND');
    await gh.access.invitations.revoke(actor(ctx), invitation.id);
  },
});

// ---- roles and grants (administrators) ----

const roleSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  permissions: z.array(z.string()),
});

const grantBody = z.strictObject({
  permission: z.string().max(100).optional().describe('A permission string, such as upload:write.'),
  role: z.string().max(60).optional().describe('The name of a role.'),
});

function grantOf(body: z.output<typeof grantBody>): Grant {
  if ((body.permission === undefined) === (body.role === undefined))
    throw new HttpError('BAD_REQUEST', {
      message: 'Invalid request: body: give either "permission" or "role", not both.',
    });
  return body.permission !== undefined ? { permission: body.permission } : { role: body.role! };
}

const grantsSchema = z.object({
  grants: z.array(z.object({ permission: z.string().optional(), role: z.string().optional() })),
});

export const listRoles = defineRoute({
  id: 'adminListRoles',
  method: 'GET',
  path: '/api/v1/admin/roles',
  summary: 'Roles and the permissions each bundles, in name order',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(roleSchema),
  async handler({ gh, query }) {
    return paginateList(await gh.access.listRoles(), query, (r) => [r.name, r.id]);
  },
});

export const defineRole = defineRoute({
  id: 'adminDefineRole',
  method: 'POST',
  path: '/api/v1/admin/roles',
  summary: 'Create a role, or replace the permissions of an existing one',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  body: z.strictObject({
    name: z.string().min(1).max(60).describe('Lowercase letters, digits, ".", "_" or "-".'),
    permissions: z.array(z.string().max(100)).max(200),
    description: z.string().max(500).nullable().optional(),
  }),
  response: roleSchema,
  async handler(ctx) {
    const { gh, body } = ctx;
    await gh.access.defineRole(actor(ctx), body.name, body.permissions, body.description ?? null);
    return (await gh.access.listRoles()).find((r) => r.name === body.name)!;
  },
});

export const deleteRole = defineRoute({
  id: 'adminDeleteRole',
  method: 'DELETE',
  path: '/api/v1/admin/roles/{id}',
  summary: 'Delete a role',
  description: 'Everyone holding it through a grant loses its permissions at once.',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  params: z.strictObject({ id: z.uuid() }),
  async handler(ctx) {
    const role = (await ctx.gh.access.listRoles()).find((r) => r.id === ctx.params.id);
    if (!role) throw new AccessError('ROLE_NOT_FOUND');
    await ctx.gh.access.deleteRole(actor(ctx), role.name);
  },
});

export const grantToUser = defineRoute({
  id: 'adminGrantToUser',
  method: 'POST',
  path: '/api/v1/admin/users/{id}/grants',
  summary: 'Grant a user a permission or a role',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  params: z.strictObject({ id: z.uuid() }),
  body: grantBody,
  async handler(ctx) {
    await ctx.gh.access.grantToUser(actor(ctx), ctx.params.id, grantOf(ctx.body));
  },
});

export const revokeFromUser = defineRoute({
  id: 'adminRevokeFromUser',
  method: 'DELETE',
  path: '/api/v1/admin/users/{id}/grants',
  summary: 'Take a permission or a role from a user',
  description: 'The body names the grant, as for POST.',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  params: z.strictObject({ id: z.uuid() }),
  body: grantBody,
  async handler(ctx) {
    const user = await ctx.gh.accounts.findById(ctx.params.id);
    if (!user) throw new AccessError('USER_NOT_FOUND');
    await ctx.gh.access.revokeFromUser(actor(ctx), user.id, grantOf(ctx.body));
  },
});

export const listGroupGrants = defineRoute({
  id: 'adminListGroupGrants',
  method: 'GET',
  path: '/api/v1/admin/groups/{id}/grants',
  summary: 'What a group grants its members (and the members of its subgroups)',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  params: groupParams,
  response: grantsSchema,
  async handler(ctx) {
    const group = await ctx.gh.access.getGroup(ctx.params.id);
    return { grants: await ctx.gh.access.grantsOfGroup(group.id) };
  },
});

export const grantToGroup = defineRoute({
  id: 'adminGrantToGroup',
  method: 'POST',
  path: '/api/v1/admin/groups/{id}/grants',
  summary: 'Grant every member of a group and its subgroups a permission or a role',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  params: groupParams,
  body: grantBody,
  async handler(ctx) {
    await ctx.gh.access.grantToGroup(actor(ctx), ctx.params.id, grantOf(ctx.body));
  },
});

export const revokeFromGroup = defineRoute({
  id: 'adminRevokeFromGroup',
  method: 'DELETE',
  path: '/api/v1/admin/groups/{id}/grants',
  summary: 'Take a permission or a role from a group',
  description: 'The body names the grant, as for POST.',
  tags: ['admin'],
  scope: ADMIN_SCOPE,
  params: groupParams,
  body: grantBody,
  async handler(ctx) {
    await ctx.gh.access.revokeFromGroup(actor(ctx), ctx.params.id, grantOf(ctx.body));
  },
});

export const groupRoutes = [
  listMyGroups,
  leaveGroup,
  acceptInvitation,
  listGroups,
  createGroup,
  getGroup,
  updateGroup,
  deleteGroup,
  listGroupMembers,
  addGroupMember,
  removeGroupMember,
  listGroupInvitations,
  createGroupInvitation,
  revokeGroupInvitation,
];

export const roleRoutes = [
  listRoles,
  defineRole,
  deleteRole,
  grantToUser,
  revokeFromUser,
  listGroupGrants,
  grantToGroup,
  revokeFromGroup,
];
