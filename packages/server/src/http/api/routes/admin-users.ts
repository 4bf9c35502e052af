// Administration of users: list, create, change, disable, delete, reset passwords, and their
// sessions and API tokens. Every route needs the gatehouse:admin scope (administrators only).

import { z } from 'zod';
import type { User } from '../../../accounts/accounts.ts';
import { adminUserJson } from '../../../accounts/json.ts';
import { SET_PASSWORD_LINK_TTL_MS } from '../../../accounts/one-time-tokens.ts';
import { apiTokenJson } from '../../../apitokens/json.ts';
import { sessionJson } from '../../../sessions/json.ts';
import { HttpError } from '../../errors.ts';
import { apiActor } from '../actor.ts';
import { type ApiContext, defineRoute } from '../define.ts';
import { adminUserSchema, byCreation, sessionSchema, tokenSchema } from '../json.ts';
import { decodeCursor, encodeCursor, pageOf, pageQuery, paginateList } from '../pagination.ts';
import { ADMIN_SCOPE } from '../scopes.ts';

const userParams = z.strictObject({ id: z.uuid() });
const TAGS = ['admin'];

async function targetUser(ctx: ApiContext<{ id: string }, unknown, unknown>): Promise<User> {
  const user = await ctx.gh.accounts.findById(ctx.params.id);
  if (!user) throw new HttpError('NOT_FOUND', { message: 'There is no such user.' });
  return user;
}

function notYourself(ctx: ApiContext<{ id: string }, unknown, unknown>) {
  if (ctx.params.id === ctx.user.id) throw new HttpError('SELF_LOCKOUT');
}

export const listUsers = defineRoute({
  id: 'adminListUsers',
  method: 'GET',
  path: '/api/v1/admin/users',
  summary: 'Users, in username order',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(adminUserSchema),
  async handler({ gh, query }) {
    const after = decodeCursor(query.cursor, z.string().max(200));
    const page = await gh.accounts.list({ after, limit: query.limit });
    return {
      items: page.users.map(adminUserJson),
      next_cursor: page.next === null ? null : encodeCursor(page.next),
    };
  },
});

export const createUser = defineRoute({
  id: 'adminCreateUser',
  method: 'POST',
  path: '/api/v1/admin/users',
  summary: 'Create a user',
  description:
    'The new user chooses a password at the one-time `set_password_url` (valid 72 hours); hand it to them privately.',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  idempotent: true,
  body: z.strictObject({
    username: z.string().max(100),
    email: z.string().max(320),
    name: z.string().max(200).nullable().optional(),
    admin: z.boolean().optional().describe('Grant gatehouse:admin.'),
    email_verified: z.boolean().optional(),
  }),
  status: 201,
  response: adminUserSchema.extend({
    set_password_url: z.string(),
    set_password_expires_at: z.string(),
  }),
  errors: { 409: 'The username or email is taken, or the Idempotency-Key is in use.' },
  async handler(ctx) {
    const { gh, body } = ctx;
    const user = await gh.accounts.create(
      {
        username: body.username,
        email: body.email,
        name: body.name ?? null,
        admin: body.admin === true,
        emailVerified: body.email_verified === true,
      },
      apiActor(ctx),
    );
    // Part of creating the user: not recorded on its own.
    const token = await gh.oneTimeTokens.issue('rst', {
      userId: user.id,
      ttlMs: SET_PASSWORD_LINK_TTL_MS,
    });
    return {
      ...adminUserJson(user),
      set_password_url: `${gh.config.issuer}/reset/${token}`,
      set_password_expires_at: new Date(gh.now() + SET_PASSWORD_LINK_TTL_MS).toISOString(),
    };
  },
});

export const getUser = defineRoute({
  id: 'adminGetUser',
  method: 'GET',
  path: '/api/v1/admin/users/{id}',
  summary: 'A user',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: userParams,
  response: adminUserSchema,
  async handler(ctx) {
    return adminUserJson(await targetUser(ctx));
  },
});

export const updateUser = defineRoute({
  id: 'adminUpdateUser',
  method: 'PATCH',
  path: '/api/v1/admin/users/{id}',
  summary: 'Change a user: profile, disable or enable',
  description:
    'A disabled user cannot sign in; their sessions and API tokens stop working at once. Fields left out are unchanged. You cannot disable your own account.',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: userParams,
  body: z.strictObject({
    name: z.string().max(200).nullable().optional(),
    email: z.string().max(320).optional(),
    email_verified: z
      .boolean()
      .optional()
      .describe(
        'Mark the address verified (sent as Remote-Email and email_verified) or not. Changing the email clears it unless given.',
      ),
    disabled: z.boolean().optional(),
  }),
  response: adminUserSchema,
  errors: { 409: 'The email address is taken, or this is your own account (SELF_LOCKOUT).' },
  async handler(ctx) {
    const { gh, body, params } = ctx;
    await targetUser(ctx);
    if (body.disabled === true) notYourself(ctx);
    const profile = body.name !== undefined || body.email !== undefined;
    if (profile || body.email_verified !== undefined) {
      const patch = { name: body.name, email: body.email, emailVerified: body.email_verified };
      await gh.accounts.updateProfile(params.id, patch, apiActor(ctx));
    }
    if (body.disabled !== undefined)
      await gh.accounts.setDisabled(params.id, body.disabled, apiActor(ctx));
    return adminUserJson(await targetUser(ctx));
  },
});

export const deleteUser = defineRoute({
  id: 'adminDeleteUser',
  method: 'DELETE',
  path: '/api/v1/admin/users/{id}',
  summary: 'Delete a user',
  description:
    'Signs out their sessions and revokes their API tokens everywhere. You cannot delete your own account.',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: userParams,
  errors: { 409: 'This is your own account (SELF_LOCKOUT).' },
  async handler(ctx) {
    const { gh, params } = ctx;
    const user = await targetUser(ctx);
    notYourself(ctx);
    await gh.sessions.revokeAllForUser(user.id);
    await gh.apiTokens.revokeAllForUser(user.id);
    await gh.accounts.delete(params.id, apiActor(ctx));
  },
});

export const resetPassword = defineRoute({
  id: 'adminResetPassword',
  method: 'POST',
  path: '/api/v1/admin/users/{id}/password-reset',
  summary: 'Make a one-time password reset link',
  description:
    'The current password keeps working until the user sets a new one at the link (valid 72 hours). Hand the link to them privately.',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  idempotent: true,
  params: userParams,
  status: 201,
  response: z.object({ reset_url: z.string(), expires_at: z.string() }),
  async handler(ctx) {
    const user = await targetUser(ctx);
    const link = await ctx.gh.oneTimeTokens.resetLink(user.id, apiActor(ctx));
    return {
      reset_url: `${ctx.gh.config.issuer}/reset/${link.token}`,
      expires_at: link.expiresAt.toISOString(),
    };
  },
});

export const listUserSessions = defineRoute({
  id: 'adminListUserSessions',
  method: 'GET',
  path: '/api/v1/admin/users/{id}/sessions',
  summary: "A user's sessions",
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: userParams,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(sessionSchema),
  async handler(ctx) {
    const user = await targetUser(ctx);
    const current = ctx.auth.kind === 'session' ? ctx.auth.sessionId : null;
    const page = paginateList(await ctx.gh.sessions.listForUser(user.id), ctx.query, byCreation);
    return { items: page.items.map((s) => sessionJson(s, current)), next_cursor: page.next_cursor };
  },
});

export const revokeUserSession = defineRoute({
  id: 'adminRevokeUserSession',
  method: 'DELETE',
  path: '/api/v1/admin/users/{id}/sessions/{sessionId}',
  summary: "Sign out one of a user's sessions",
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: z.strictObject({ id: z.uuid(), sessionId: z.uuid() }),
  async handler(ctx) {
    const user = await targetUser(ctx);
    if (!(await ctx.gh.sessions.revokeOne(apiActor(ctx), user.id, ctx.params.sessionId)))
      throw new HttpError('NOT_FOUND', { message: 'There is no such session.' });
  },
});

export const listUserTokens = defineRoute({
  id: 'adminListUserTokens',
  method: 'GET',
  path: '/api/v1/admin/users/{id}/tokens',
  summary: "A user's API tokens",
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: userParams,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(tokenSchema),
  async handler(ctx) {
    const user = await targetUser(ctx);
    const page = paginateList(await ctx.gh.apiTokens.listForUser(user.id), ctx.query, byCreation);
    return { items: page.items.map(apiTokenJson), next_cursor: page.next_cursor };
  },
});

export const revokeUserToken = defineRoute({
  id: 'adminRevokeUserToken',
  method: 'DELETE',
  path: '/api/v1/admin/users/{id}/tokens/{tokenId}',
  summary: "Revoke one of a user's API tokens",
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: z.strictObject({ id: z.uuid(), tokenId: z.uuid() }),
  async handler(ctx) {
    const user = await targetUser(ctx);
    if (!(await ctx.gh.apiTokens.revoke(ctx.params.tokenId, { userId: user.id }, apiActor(ctx))))
      throw new HttpError('NOT_FOUND', { message: 'There is no such token.' });
  },
});

export const adminUserRoutes = [
  listUsers,
  createUser,
  getUser,
  updateUser,
  deleteUser,
  resetPassword,
  listUserSessions,
  revokeUserSession,
  listUserTokens,
  revokeUserToken,
];
