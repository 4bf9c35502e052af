// What the access API routes share: the group's JSON shape, who acts (with administrator rights
// only through a session or a token carrying gatehouse:admin) and the group a caller manages.

import { z } from 'zod';
import { AccessError } from '../../../access/errors.ts';
import type { Actor, Group } from '../../../access/types.ts';
import { apiActor } from '../actor.ts';
import type { ApiContext } from '../define.ts';
import { ADMIN_SCOPE } from '../scopes.ts';

export const time = z.string().describe('ISO 8601 date and time (UTC)');
export const role = z.enum(['owner', 'member']);
export const groupParams = z.strictObject({ id: z.uuid() });

export const groupSchema = z.object({
  id: z.string(),
  path: z.string().describe('Segments joined by "/", such as members/workshop/laser.'),
  name: z.string(),
  parent_id: z.string().nullable(),
  description: z.string().nullable(),
  created_at: time,
});

export { groupJson } from '../../../access/json.ts';

export const byPath = (g: Group): [string, string] => [g.path, g.id];

/**
 * The member, acting with administrator rights only through a session or a token carrying
 * gatehouse:admin: an administrator's token scoped to groups:write manages only what they own.
 */
export function actor(ctx: ApiContext<unknown, unknown, unknown>): Actor & { userId: string } {
  const admin = ctx.auth.kind === 'session' || ctx.auth.scopes.includes(ADMIN_SCOPE);
  return { ...apiActor(ctx), admin };
}

/** The group, if the caller manages it (an owner at or above it, or an administrator). */
export async function managedGroup(
  ctx: ApiContext<{ id: string }, unknown, unknown>,
): Promise<Group> {
  const group = await ctx.gh.access.getGroup(ctx.params.id);
  if (!(await ctx.gh.access.canManage(actor(ctx), group.path))) throw new AccessError('FORBIDDEN');
  return group;
}
