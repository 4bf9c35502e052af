// Invitations to a group: the member accepting one, and the group's owners (and members allowed
// to re-share) creating, listing and revoking them. The link is returned once; only a hash of
// its secret is kept.

import { z } from 'zod';
import { AccessError } from '../../../access/errors.ts';
import type { GroupRole, Invitation } from '../../../access/types.ts';
import { parseDuration } from '../../../config/duration.ts';
import { defineRoute } from '../define.ts';
import { checkListCursor, pageOf, pageQuery, paginateList } from '../pagination.ts';
import { GROUPS_READ, GROUPS_WRITE } from '../scopes.ts';
import {
  actor,
  groupJson,
  groupParams,
  groupSchema,
  managedGroup,
  role,
  time,
} from './access-shared.ts';

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

export const invitationRoutes = [
  acceptInvitation,
  listGroupInvitations,
  createGroupInvitation,
  revokeGroupInvitation,
];
