// What the group, invitation and role routes do: owners manage their part of the tree, members
// accept invitations and leave, the domain's refusals arrive with their stable codes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../../accounts/accounts.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../../testing/test-gatehouse.ts';

let t: TestGatehouse;
let admin: User;
let adminToken: string;
let n = 0;
const MEMBER = ['groups:read', 'groups:write', 'account:read'];

async function newUser(permissions: string[] = []) {
  const i = ++n;
  const user = await t.gh.accounts.create({
    username: `g${i}`,
    email: `g${i}@example.org`,
    password: 'group password 123',
  });
  for (const p of permissions) await t.gh.accounts.grantPermission(user.id, p);
  return (await t.gh.accounts.findById(user.id))!;
}

async function tokenFor(user: User, scopes: string[] = MEMBER) {
  return (await t.gh.apiTokens.create(user.id, { name: 'test', scopes, expiresAt: null })).token;
}

function call(method: string, url: string, token: string, body?: object) {
  return t.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body ? { payload: body } : {}),
  });
}

async function ok(
  res: Awaited<ReturnType<typeof call>>,
  status = 200,
): Promise<Record<string, unknown>> {
  expect(res.statusCode, res.body).toBe(status);
  return status === 204 ? {} : res.json();
}

function refused(res: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error.code).toBe(code);
  return res.json().error as { code: string; message: string; [k: string]: unknown };
}

beforeAll(async () => {
  t = await createTestGatehouse({ apiLimits: { perAddress: 1_000_000, perToken: 1_000_000 } });
  admin = await newUser(['gatehouse:admin']);
  adminToken = await tokenFor(admin, [...MEMBER, 'gatehouse:admin']);
});
afterAll(() => t?.close());

/** A top-level group made by the administrator, owned by `owner`. */
async function ownedGroup(path: string, owner: User) {
  const group = await ok(await call('POST', '/api/v1/groups', adminToken, { path }), 201);
  await ok(
    await call('POST', `/api/v1/groups/${group.id}/members`, adminToken, {
      user_id: owner.id,
      role: 'owner',
    }),
    204,
  );
  return group as { id: string; path: string };
}

describe(`group routes (${storageMode()})`, () => {
  it('owner creates a subgroup and invites; a second member accepts, is removed; another leaves', async () => {
    const owner = await newUser();
    const ownerToken = await tokenFor(owner);
    const top = await ownedGroup('hackspace', owner);

    const sub = await ok(
      await call('POST', '/api/v1/groups', ownerToken, {
        path: 'hackspace/workshop',
        description: 'The workshop',
      }),
      201,
    );
    expect(sub).toMatchObject({ path: 'hackspace/workshop', parent_id: top.id });
    const listed = await ok(await call('GET', '/api/v1/groups', ownerToken));
    expect((listed.items as { path: string }[]).map((g) => g.path)).toEqual([
      'hackspace',
      'hackspace/workshop',
    ]);

    const invite = await ok(
      await call('POST', `/api/v1/groups/${sub.id}/invitations`, ownerToken, {
        max_uses: 1,
        expires_in: '2d',
      }),
      201,
    );
    expect(invite).toMatchObject({ status: 'pending', role: 'member', uses: 0, max_uses: 1 });
    const link = invite.url as string;
    expect(link).toMatch(/\/invite\/gth_inv_/);
    const token = link.slice(link.lastIndexOf('/') + 1);
    const pending = await ok(await call('GET', `/api/v1/groups/${sub.id}/invitations`, ownerToken));
    expect(pending.items).toHaveLength(1);
    expect(JSON.stringify(pending)).not.toContain(token);

    const guest = await newUser();
    const guestToken = await tokenFor(guest);
    const accepted = await ok(
      await call('POST', '/api/v1/invitations/accept', guestToken, { token }),
    );
    expect(accepted).toMatchObject({ role: 'member', already_member: false });
    expect((accepted.group as { path: string }).path).toBe('hackspace/workshop');

    const mine = await ok(await call('GET', '/api/v1/me/groups', guestToken));
    expect(mine.items).toMatchObject([
      { group: { path: 'hackspace/workshop' }, role: 'member', share_depth: 0 },
    ]);
    const seen = await ok(await call('GET', `/api/v1/groups/${sub.id}`, guestToken));
    expect(seen).toMatchObject({ your_role: 'member', manage: false });
    const members = await ok(await call('GET', `/api/v1/groups/${sub.id}/members`, ownerToken));
    expect(members.items).toMatchObject([{ user_id: guest.id, role: 'member' }]);

    // A member who is not an owner cannot manage the group.
    refused(
      await call('POST', `/api/v1/groups/${sub.id}/members`, guestToken, {
        user_id: guest.id,
        role: 'owner',
      }),
      403,
      'FORBIDDEN',
    );
    refused(await call('GET', `/api/v1/groups/${sub.id}/members`, guestToken), 403, 'FORBIDDEN');
    refused(await call('GET', `/api/v1/groups/${top.id}`, guestToken), 403, 'FORBIDDEN');
    refused(
      await call('POST', `/api/v1/groups/${sub.id}/invitations`, guestToken, {}),
      403,
      'INVITE_NOT_ALLOWED',
    );
    refused(
      await call('POST', '/api/v1/groups', guestToken, { path: 'hackspace/workshop/mine' }),
      403,
      'FORBIDDEN',
    );
    refused(
      await call('DELETE', `/api/v1/groups/${sub.id}/members/${owner.id}`, guestToken),
      403,
      'FORBIDDEN',
    );
    expect((await ok(await call('GET', '/api/v1/groups', guestToken))).items).toEqual([]);

    // The owner removes the guest; the used-up link does not let them back in.
    await ok(await call('DELETE', `/api/v1/groups/${sub.id}/members/${guest.id}`, ownerToken), 204);
    expect((await ok(await call('GET', '/api/v1/me/groups', guestToken))).items).toEqual([]);
    expect(await t.gh.access.groupsOf(guest.id)).not.toContain('hackspace/workshop');
    refused(
      await call('POST', '/api/v1/invitations/accept', guestToken, { token }),
      410,
      'INVITATION_USED_UP',
    );
    refused(
      await call('DELETE', `/api/v1/groups/${sub.id}/members/${guest.id}`, ownerToken),
      404,
      'NOT_A_MEMBER',
    );

    // Another member joins through a reusable invitation and leaves by themselves.
    const reusable = await ok(
      await call('POST', `/api/v1/groups/${sub.id}/invitations`, ownerToken, { max_uses: 5 }),
      201,
    );
    const other = await newUser();
    const otherToken = await tokenFor(other);
    const url = reusable.url as string;
    const reusableToken = url.slice(url.lastIndexOf('/') + 1);
    await ok(
      await call('POST', '/api/v1/invitations/accept', otherToken, { token: reusableToken }),
    );
    // A double submit is harmless and costs no second use.
    const again = await ok(
      await call('POST', '/api/v1/invitations/accept', otherToken, { token: reusableToken }),
    );
    expect(again.already_member).toBe(true);
    const listedAgain = await ok(
      await call('GET', `/api/v1/groups/${sub.id}/invitations?pending=true`, ownerToken),
    );
    expect(listedAgain.items).toMatchObject([{ id: reusable.id, uses: 1, max_uses: 5 }]);
    await ok(await call('DELETE', `/api/v1/me/groups/${sub.id}`, otherToken), 204);
    expect((await ok(await call('GET', '/api/v1/me/groups', otherToken))).items).toEqual([]);
    refused(await call('DELETE', `/api/v1/me/groups/${sub.id}`, otherToken), 404, 'NOT_A_MEMBER');

    // Revoked: the link says so.
    await ok(
      await call('DELETE', `/api/v1/groups/${sub.id}/invitations/${reusable.id}`, ownerToken),
      204,
    );
    const third = await newUser();
    refused(
      await call('POST', '/api/v1/invitations/accept', await tokenFor(third), {
        token: url.slice(url.lastIndexOf('/') + 1),
      }),
      410,
      'INVITATION_REVOKED',
    );
    const stillPending = await ok(
      await call('GET', `/api/v1/groups/${sub.id}/invitations?pending=true`, ownerToken),
    );
    expect(stillPending.items).toEqual([]);
    refused(
      await call('POST', '/api/v1/invitations/accept', otherToken, { token: 'gth_inv_forged' }),
      404,
      'INVITATION_INVALID',
    );
  });

  it('refuses a bad path or a move into itself with the domain’s code and message', async () => {
    const owner = await newUser();
    const ownerToken = await tokenFor(owner);
    const top = await ownedGroup('tree', owner);
    const bad = refused(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'tree/Not Valid' }),
      400,
      'GROUP_PATH_INVALID',
    );
    expect(bad.message).toContain('lowercase');
    refused(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'nowhere/child' }),
      404,
      'PARENT_NOT_FOUND',
    );
    refused(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'toplevel' }),
      403,
      'ADMIN_REQUIRED',
    );
    const child = await ok(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'tree/child' }),
      201,
    );
    refused(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'tree/child' }),
      409,
      'GROUP_EXISTS',
    );
    const cycle = refused(
      await call('PATCH', `/api/v1/groups/${top.id}`, adminToken, { parent_id: child.id }),
      409,
      'MOVE_INTO_ITSELF',
    );
    expect(cycle.message).toContain('into itself');
    refused(
      await call('PATCH', `/api/v1/groups/${child.id}`, ownerToken, { name: 'Bad Name' }),
      400,
      'GROUP_PATH_INVALID',
    );
    refused(await call('PATCH', `/api/v1/groups/${child.id}`, ownerToken, {}), 400, 'BAD_REQUEST');
    const renamed = await ok(
      await call('PATCH', `/api/v1/groups/${child.id}`, ownerToken, {
        name: 'renamed',
        description: 'Now with a description',
      }),
    );
    expect(renamed).toMatchObject({ path: 'tree/renamed', description: 'Now with a description' });
  });

  it('deletes a non-empty group only with cascade, saying first what would go', async () => {
    const owner = await newUser();
    const ownerToken = await tokenFor(owner);
    await ownedGroup('club', owner);
    const room = await ok(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'club/room' }),
      201,
    );
    await ok(await call('POST', '/api/v1/groups', ownerToken, { path: 'club/room/desk' }), 201);
    const someone = await newUser();
    await ok(
      await call('POST', `/api/v1/groups/${room.id}/members`, ownerToken, { user_id: someone.id }),
      204,
    );
    const err = refused(
      await call('DELETE', `/api/v1/groups/${room.id}`, ownerToken),
      409,
      'GROUP_NOT_EMPTY',
    );
    expect(err.would_remove).toEqual({
      groups: ['club/room', 'club/room/desk'],
      memberships: 1,
      invitations: 0,
      includes: 0,
    });
    await ok(await call('DELETE', `/api/v1/groups/${room.id}?cascade=true`, ownerToken), 204);
    refused(await call('GET', `/api/v1/groups/${room.id}`, ownerToken), 404, 'GROUP_NOT_FOUND');
    const empty = await ok(
      await call('POST', '/api/v1/groups', ownerToken, { path: 'club/empty' }),
      201,
    );
    await ok(await call('DELETE', `/api/v1/groups/${empty.id}`, ownerToken), 204);
  });
});

describe(`administrators' tokens (${storageMode()})`, () => {
  it('act as a plain member in groups without the gatehouse:admin scope', async () => {
    const scoped = await tokenFor(admin, MEMBER);
    refused(
      await call('POST', '/api/v1/groups', scoped, { path: 'adminless' }),
      403,
      'ADMIN_REQUIRED',
    );
    const other = await newUser();
    const theirs = await ownedGroup('theirs', other);
    refused(await call('GET', `/api/v1/groups/${theirs.id}/members`, scoped), 403, 'FORBIDDEN');
    refused(
      await call('POST', `/api/v1/groups/${theirs.id}/invitations`, scoped, {}),
      403,
      'INVITE_NOT_ALLOWED',
    );
    expect((await ok(await call('GET', '/api/v1/groups', scoped))).items).toEqual([]);
    const all = await ok(await call('GET', '/api/v1/groups', adminToken));
    expect((all.items as { path: string }[]).map((g) => g.path)).toContain('theirs');
    await ok(await call('GET', `/api/v1/groups/${theirs.id}/members`, adminToken));
  });
});

describe(`role routes (${storageMode()})`, () => {
  it('defines roles and grants them to users and groups', async () => {
    const role = await ok(
      await call('POST', '/api/v1/admin/roles', adminToken, {
        name: 'laser-user',
        permissions: ['booking:read', 'laser:use'],
      }),
    );
    expect(role).toMatchObject({ name: 'laser-user', permissions: ['booking:read', 'laser:use'] });
    const roles = await ok(await call('GET', '/api/v1/admin/roles', adminToken));
    expect((roles.items as { name: string }[]).map((r) => r.name)).toContain('laser-user');
    refused(
      await call('POST', '/api/v1/admin/roles', adminToken, { name: 'Bad Role', permissions: [] }),
      400,
      'ROLE_NAME_INVALID',
    );

    const user = await newUser();
    await ok(
      await call('POST', `/api/v1/admin/users/${user.id}/grants`, adminToken, {
        role: 'laser-user',
      }),
      204,
    );
    expect(await t.gh.access.permissionsOf(user.id)).toContain('laser:use');
    await ok(
      await call('DELETE', `/api/v1/admin/users/${user.id}/grants`, adminToken, {
        role: 'laser-user',
      }),
      204,
    );
    expect(await t.gh.access.permissionsOf(user.id)).not.toContain('laser:use');
    refused(
      await call('POST', `/api/v1/admin/users/${user.id}/grants`, adminToken, {
        role: 'laser-user',
        permission: 'x:y',
      }),
      400,
      'BAD_REQUEST',
    );
    refused(
      await call('POST', `/api/v1/admin/users/${user.id}/grants`, adminToken, { role: 'nope' }),
      404,
      'ROLE_NOT_FOUND',
    );

    const group = await ok(
      await call('POST', '/api/v1/groups', adminToken, { path: 'lasers' }),
      201,
    );
    await ok(
      await call('POST', `/api/v1/groups/${group.id}/members`, adminToken, { user_id: user.id }),
      204,
    );
    await ok(
      await call('POST', `/api/v1/admin/groups/${group.id}/grants`, adminToken, {
        permission: 'upload:write',
      }),
      204,
    );
    expect(
      await ok(await call('GET', `/api/v1/admin/groups/${group.id}/grants`, adminToken)),
    ).toEqual({
      grants: [{ permission: 'upload:write' }],
    });
    expect(await t.gh.access.permissionsOf(user.id)).toContain('upload:write');
    await ok(
      await call('DELETE', `/api/v1/admin/groups/${group.id}/grants`, adminToken, {
        permission: 'upload:write',
      }),
      204,
    );
    expect(await t.gh.access.permissionsOf(user.id)).not.toContain('upload:write');

    await ok(await call('DELETE', `/api/v1/admin/roles/${role.id}`, adminToken), 204);
    refused(
      await call('DELETE', `/api/v1/admin/roles/${role.id}`, adminToken),
      404,
      'ROLE_NOT_FOUND',
    );
  });
});
