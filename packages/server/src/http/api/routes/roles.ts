// Roles and grants, for administrators: named roles bundling permissions, granted to users and
// to groups (and so to every member of a group and of its subgroups).

import { z } from 'zod';
import { AccessError } from '../../../access/errors.ts';
import type { Grant } from '../../../access/types.ts';
import { HttpError } from '../../errors.ts';
import { defineRoute } from '../define.ts';
import { pageOf, pageQuery, paginateList } from '../pagination.ts';
import { ADMIN_SCOPE } from '../scopes.ts';
import { actor, groupParams } from './access-shared.ts';

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
