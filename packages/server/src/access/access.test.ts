import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../gatehouse.ts';
import {
  createTestGatehouse,
  createTestStores,
  storageMode,
  type TestGatehouse,
  type TestStores,
} from '../testing/test-gatehouse.ts';
import { AccessError } from './errors.ts';
import type { Actor } from './types.ts';

const DAY = 86_400_000;
let clock = Date.parse('2026-11-22T12:00:00Z');
const now = () => clock;

let stores: TestStores;
let a: TestGatehouse;
let b: TestGatehouse;
let gh: Gatehouse;
const system: Actor = { userId: null, ip: '192.0.2.9' };
const ids: Record<string, string> = {};

async function user(name: string) {
  ids[name] = (await gh.accounts.create({ username: name, email: `${name}@example.org` })).id;
  return ids[name]!;
}
const as = (name: string): Actor & { userId: string } => ({ userId: ids[name]!, ip: '192.0.2.1' });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AccessError) return err.code;
    throw err;
  }
  return 'no error';
}

beforeAll(async () => {
  stores = await createTestStores();
  a = await createTestGatehouse({ stores, now });
  b = await createTestGatehouse({ stores, now });
  gh = a.gh;
  for (const n of ['owner', 'alice', 'bob', 'carol', 'dave', 'erin', 'admin']) await user(n);
  await gh.accounts.grantPermission(ids.admin!, 'gatehouse:admin');
  for (const p of ['members', 'members/workshop', 'members/workshop/laser', 'board', 'guests'])
    await gh.access.createGroup(system, { path: p });
  await gh.access.addMember(system, 'members/workshop', ids.owner!, 'owner');
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await stores?.destroy();
});

describe(`access groups (${storageMode()})`, () => {
  it('grants a group and everything below it, never above', async () => {
    await gh.access.addMember(as('owner'), 'members/workshop', ids.alice!);
    expect(await gh.access.decide(ids.alice!, 'members/workshop')).toBe(true);
    expect(await gh.access.decide(ids.alice!, 'members/workshop/laser')).toBe(true);
    expect(await gh.access.decide(ids.alice!, 'members')).toBe(false);
    expect(await gh.access.decide(ids.alice!, 'board')).toBe(false);
    expect(await gh.access.groupsOf(ids.alice!)).toEqual(['members/workshop']);
    // a member of the child does not pass the parent
    await gh.access.addMember(as('owner'), 'members/workshop/laser', ids.bob!);
    expect(await gh.access.decide(ids.bob!, 'members/workshop')).toBe(false);
    expect(await gh.access.decide(ids.bob!, 'members/workshop/laser & !members')).toBe(true);
  });

  it('lets owners manage everything below their group and nothing above or beside it', async () => {
    expect(await gh.access.canManage(as('owner'), 'members/workshop/laser')).toBe(true);
    expect(await gh.access.canManage(as('owner'), 'members')).toBe(false);
    expect(await refusal(gh.access.addMember(as('owner'), 'board', ids.carol!))).toBe('FORBIDDEN');
    expect(await refusal(gh.access.addMember(as('alice'), 'members/workshop', ids.carol!))).toBe(
      'FORBIDDEN',
    );
    expect(await refusal(gh.access.createGroup(as('owner'), { path: 'toplevel' }))).toBe(
      'ADMIN_REQUIRED',
    );
    const g = await gh.access.createGroup(as('owner'), { path: 'members/workshop/cnc' });
    expect(g.path).toBe('members/workshop/cnc');
    expect(
      await refusal(gh.access.createGroup(as('owner'), { path: 'members/workshop/cnc' })),
    ).toBe('GROUP_EXISTS');
    expect(await refusal(gh.access.createGroup(as('owner'), { path: 'members/nope/x' }))).toBe(
      'PARENT_NOT_FOUND',
    );
    for (const bad of ['', 'Members', 'a//b', '../x', 'x/', 'a b', 'x'.repeat(300), 42])
      expect(await refusal(gh.access.createGroup(system, { path: bad as string }))).toBe(
        'GROUP_PATH_INVALID',
      );
  });

  it('audits every change with who, what and where', async () => {
    const log = await gh.audit.recent(200);
    const add = log.find(
      (e) =>
        e.action === 'group.member.add' &&
        e.actorId === ids.owner &&
        e.details?.path === 'members/workshop',
    );
    expect(add).toMatchObject({ ip: '192.0.2.1', target: expect.stringMatching(/^group:/) });
    expect(add?.details).toMatchObject({ path: 'members/workshop', role: 'member' });
  });

  it('includes the members of another group, and refuses a cycle', async () => {
    await gh.access.addMember(system, 'board', ids.carol!);
    expect(await gh.access.decide(ids.carol!, 'guests')).toBe(false);
    await gh.access.addInclude(system, 'guests', 'board');
    expect(await gh.access.decide(ids.carol!, 'guests')).toBe(true);
    expect(await gh.access.groupsOf(ids.carol!)).toEqual(['board', 'guests']);
    // a member of an ancestor of the included group comes along too
    await gh.access.createGroup(system, { path: 'board/finance' });
    await gh.access.createGroup(system, { path: 'auditors' });
    await gh.access.addInclude(system, 'auditors', 'board/finance');
    expect(await gh.access.decide(ids.carol!, 'auditors')).toBe(true);
    expect(await refusal(gh.access.addInclude(system, 'board', 'guests'))).toBe('INCLUDE_CYCLE');
    expect(await refusal(gh.access.addInclude(system, 'board', 'auditors'))).toBe('INCLUDE_CYCLE');
    expect(await refusal(gh.access.addInclude(system, 'board', 'board/finance'))).toBe(
      'INCLUDE_CYCLE',
    );
    expect(await refusal(gh.access.addInclude(system, 'board', 'board'))).toBe('INCLUDE_SELF');
    await gh.access.removeInclude(system, 'guests', 'board');
    expect(await gh.access.decide(ids.carol!, 'guests')).toBe(false);
  });

  it('keeps memberships when a group is renamed or moved', async () => {
    await gh.access.createGroup(system, { path: 'projects' });
    await gh.access.createGroup(system, { path: 'projects/robot' });
    await gh.access.createGroup(system, { path: 'projects/robot/arm' });
    await gh.access.addMember(system, 'projects/robot/arm', ids.dave!);
    const robot = await gh.access.getGroup('projects/robot');
    await gh.access.renameGroup(system, robot.id, 'robots');
    expect(await gh.access.groupsOf(ids.dave!)).toEqual(['projects/robots/arm']);
    expect(await gh.access.decide(ids.dave!, 'projects/robots/arm')).toBe(true);
    expect(await gh.access.decide(ids.dave!, 'projects/robot/arm')).toBe(false);
    const workshop = await gh.access.getGroup('members/workshop');
    await gh.access.moveGroup(system, robot.id, workshop.id);
    expect(await gh.access.groupsOf(ids.dave!)).toEqual(['members/workshop/robots/arm']);
    // the workshop's owner now owns the moved subtree, and its members pass it
    expect(await gh.access.canManage(as('owner'), 'members/workshop/robots/arm')).toBe(true);
    expect(await gh.access.decide(ids.alice!, 'members/workshop/robots/arm')).toBe(true);
    expect(await refusal(gh.access.moveGroup(system, workshop.id, robot.id))).toBe(
      'MOVE_INTO_ITSELF',
    );
    // a move that would turn an include into a cycle is refused and changes nothing
    await gh.access.createGroup(system, { path: 'alpha' });
    await gh.access.createGroup(system, { path: 'beta' });
    await gh.access.addInclude(system, 'alpha', 'beta');
    const alpha = await gh.access.getGroup('alpha');
    const beta = await gh.access.getGroup('beta');
    expect(await refusal(gh.access.moveGroup(system, beta.id, alpha.id))).toBe('INCLUDE_CYCLE');
    expect((await gh.access.getGroup(beta.id)).path).toBe('beta');
  });

  it('deletes a group with members or subgroups only when asked to cascade, after a preview', async () => {
    await gh.access.createGroup(system, { path: 'temp' });
    await gh.access.createGroup(system, { path: 'temp/sub' });
    await gh.access.addMember(system, 'temp/sub', ids.erin!);
    const temp = await gh.access.getGroup('temp');
    const preview = await gh.access.deletePreview(temp.id);
    expect(preview).toEqual({
      groups: ['temp', 'temp/sub'],
      memberships: 1,
      invitations: 0,
      includes: 0,
    });
    expect(await refusal(gh.access.deleteGroup(system, temp.id))).toBe('GROUP_NOT_EMPTY');
    expect(await gh.access.decide(ids.erin!, 'temp/sub')).toBe(true);
    await gh.access.deleteGroup(system, temp.id, { cascade: true });
    expect(await gh.access.findGroup('temp/sub')).toBeNull();
    expect(await gh.access.decide(ids.erin!, 'temp/sub')).toBe(false);
    const empty = await gh.access.createGroup(system, { path: 'empty' });
    await gh.access.deleteGroup(system, empty.id);
    expect(await gh.access.findGroup('empty')).toBeNull();
  });

  it('gives permissions directly, through roles, and through groups to members at, above and below', async () => {
    await gh.access.defineRole(system, 'laser-operator', ['laser:use', 'laser:book']);
    await gh.access.grantToGroup(system, 'members/workshop/laser', { role: 'laser-operator' });
    await gh.access.grantToGroup(system, 'members', { permission: 'wiki:read' });
    await gh.access.grantToUser(system, ids.erin!, { permission: 'upload:write' });
    // bob is in members/workshop/laser: its role, and members' permission (he is below it)
    expect(await gh.access.permissionsOf(ids.bob!)).toEqual([
      'laser:book',
      'laser:use',
      'wiki:read',
    ]);
    // alice is in members/workshop, which grants members/workshop/laser
    expect(await gh.access.decide(ids.alice!, 'perm:laser:use & perm:wiki:read')).toBe(true);
    // carol is on the board: none of it
    expect(await gh.access.permissionsOf(ids.carol!)).toEqual([]);
    expect(await gh.access.decide(ids.erin!, 'perm:upload:write')).toBe(true);
    await gh.access.defineRole(system, 'laser-operator', ['laser:use']);
    expect(await gh.access.permissionsOf(ids.bob!)).toEqual(['laser:use', 'wiki:read']);
    await gh.access.grantToUser(system, ids.erin!, { role: 'laser-operator' });
    expect(await gh.access.decide(ids.erin!, 'perm:laser:use')).toBe(true);
    await gh.access.revokeFromUser(system, ids.erin!, { role: 'laser-operator' });
    expect(await gh.access.decide(ids.erin!, 'perm:laser:use')).toBe(false);
    // administrators are users with gatehouse:admin; only they grant
    expect(await gh.access.isAdmin(ids.admin!)).toBe(true);
    expect(await gh.access.isAdmin(ids.owner!)).toBe(false);
    expect(await refusal(gh.access.grantToUser(as('owner'), ids.owner!, { permission: 'x' }))).toBe(
      'ADMIN_REQUIRED',
    );
    expect(
      await refusal(gh.access.grantToUser(system, ids.erin!, { permission: 'bad perm' })),
    ).toBe('PERMISSION_INVALID');
  });

  it('lets a member leave, and refuses the last owner leaving a group nobody above manages', async () => {
    await gh.access.addMember(system, 'guests', ids.erin!, 'owner');
    const guests = await gh.access.getGroup('guests');
    expect(await refusal(gh.access.leave(as('erin'), guests.id))).toBe('LAST_OWNER');
    await gh.access.addMember(system, 'guests', ids.dave!);
    await gh.access.leave(as('dave'), guests.id);
    expect(await gh.access.decide(ids.dave!, 'guests')).toBe(false);
    expect(await refusal(gh.access.leave(as('dave'), guests.id))).toBe('NOT_A_MEMBER');
  });

  it('applies a removal on a second instance at once', async () => {
    await gh.access.addMember(system, 'board', ids.erin!);
    expect(await b.gh.access.decide(ids.erin!, 'board')).toBe(true); // cached on b now
    expect(await b.gh.access.decide(ids.erin!, 'board')).toBe(true);
    const board = await gh.access.getGroup('board');
    await a.gh.access.removeMember(system, board.id, ids.erin!);
    // Redis pub/sub is asynchronous; poll until b has heard (no wall-clock limit)
    while (await b.gh.access.decide(ids.erin!, 'board')) await new Promise((r) => setTimeout(r, 5));
    expect(await b.gh.access.groupsOf(ids.erin!)).not.toContain('board');
  });

  it('refuses bad expressions before touching the database, and unknown users pass nothing', async () => {
    await expect(gh.access.decide(ids.alice!, 'members &')).rejects.toMatchObject({
      code: 'EXPECTED_TERM',
    });
    expect(await gh.access.decide('not-a-uuid', 'members')).toBe(false);
    expect(await gh.access.decide(crypto.randomUUID(), '!members')).toBe(false);
    await gh.accounts.setDisabled(ids.alice!, true);
    expect(await gh.access.decide(ids.alice!, 'members/workshop')).toBe(false);
    await gh.accounts.setDisabled(ids.alice!, false);
    expect(await gh.access.decide(ids.alice!, 'members/workshop')).toBe(true);
  });
});

describe(`invitations (${storageMode()})`, () => {
  const inv = () => gh.access.invitations;

  it('joins a group through a link, once per person, up to the use limit', async () => {
    const p1 = await user('p1');
    const p2 = await user('p2');
    const p3 = await user('p3');
    const laser = await gh.access.getGroup('members/workshop/laser');
    const { token, url, invitation } = await inv().create(as('owner'), {
      groupId: laser.id,
      maxUses: 2,
    });
    expect(token).toMatch(/^gth_inv_/);
    expect(url).toBe(`http://localhost:8000/invite/${token}`);
    expect(invitation).toMatchObject({ role: 'member', uses: 0, maxUses: 2, status: 'pending' });
    expect((await inv().list(laser.id, { pending: true })).map((i) => i.id)).toContain(
      invitation.id,
    );
    const first = await inv().accept({ userId: p1 }, token);
    expect(first).toMatchObject({ role: 'member', alreadyMember: false });
    expect(await gh.access.decide(p1, 'members/workshop/laser')).toBe(true);
    // accepting twice costs nothing
    expect((await inv().accept({ userId: p1 }, token)).alreadyMember).toBe(true);
    await inv().accept({ userId: p2 }, token);
    expect(await refusal(inv().accept({ userId: p3 }, token))).toBe('INVITATION_USED_UP');
    expect((await inv().inspect(token))?.status).toBe('used-up');
    expect(await inv().list(laser.id, { pending: true })).not.toContainEqual(
      expect.objectContaining({ id: invitation.id }),
    );
  });

  it('says clearly when a link is revoked, expired or not genuine', async () => {
    const p = await user('p4');
    const workshop = await gh.access.getGroup('members/workshop');
    const revoked = await inv().create(as('owner'), { groupId: workshop.id });
    await inv().revoke(as('owner'), revoked.invitation.id);
    expect(await refusal(inv().accept({ userId: p }, revoked.token))).toBe('INVITATION_REVOKED');
    expect((await inv().inspect(revoked.token))?.status).toBe('revoked');
    const expiring = await inv().create(as('owner'), { groupId: workshop.id, expiresInMs: DAY });
    clock += DAY + 1;
    expect(await refusal(inv().accept({ userId: p }, expiring.token))).toBe('INVITATION_EXPIRED');
    expect((await inv().inspect(expiring.token))?.status).toBe('expired');
    const forged = `${expiring.token.slice(0, -10)}AAAAAAAAAA`;
    for (const bad of [undefined, '', 'gth_inv_x', forged, 'x'.repeat(10_000), 42]) {
      expect(await inv().inspect(bad)).toBeNull();
      expect(await refusal(inv().accept({ userId: p }, bad))).toBe('INVITATION_INVALID');
    }
    expect(await gh.access.decide(p, 'members/workshop')).toBe(false);
    expect(await refusal(inv().revoke(as('alice'), revoked.invitation.id))).toBe('FORBIDDEN');
  });

  it('checks the limits of a new invitation', async () => {
    const w = (await gh.access.getGroup('members/workshop')).id;
    const cases: [object, string][] = [
      [{ maxUses: 0 }, 'MAX_USES_INVALID'],
      [{ maxUses: 1.5 }, 'MAX_USES_INVALID'],
      [{ maxUses: 1e9 }, 'MAX_USES_INVALID'],
      [{ expiresInMs: 1 }, 'EXPIRY_INVALID'],
      [{ expiresInMs: 1e15 }, 'EXPIRY_INVALID'],
      [{ expiresInMs: Number.NaN }, 'EXPIRY_INVALID'],
      [{ shareDepth: -1 }, 'SHARE_DEPTH_INVALID'],
      [{ shareDepth: 11 }, 'SHARE_DEPTH_INVALID'],
      [{ role: 'admin' }, 'ROLE_INVALID'],
      [{ note: 'x'.repeat(201) }, 'NOTE_INVALID'],
    ];
    for (const [input, code] of cases)
      expect(await refusal(inv().create(as('owner'), { groupId: w, ...input }))).toBe(code);
    expect(await refusal(inv().create(as('carol'), { groupId: w }))).toBe('INVITE_NOT_ALLOWED');
  });

  it('never lets an invitation pass on more than its creator holds (role cap, re-sharing depth)', async () => {
    const r1 = await user('r1');
    const r2 = await user('r2');
    const r3 = await user('r3');
    const laser = (await gh.access.getGroup('members/workshop/laser')).id;
    // the owner lets joiners invite one level further
    const top = await inv().create(as('owner'), { groupId: laser, shareDepth: 1, maxUses: 5 });
    await inv().accept({ userId: r1 }, top.token);
    const r1Actor = { userId: r1 };
    expect(await refusal(inv().create(r1Actor, { groupId: laser, role: 'owner' }))).toBe(
      'ROLE_TOO_HIGH',
    );
    expect(await refusal(inv().create(r1Actor, { groupId: laser, shareDepth: 1 }))).toBe(
      'SHARE_DEPTH_TOO_HIGH',
    );
    // nor to a group above the one they are in
    expect(
      await refusal(
        inv().create(r1Actor, { groupId: (await gh.access.getGroup('members/workshop')).id }),
      ),
    ).toBe('INVITE_NOT_ALLOWED');
    const second = await inv().create(r1Actor, { groupId: laser });
    await inv().accept({ userId: r2 }, second.token);
    expect(await gh.access.decide(r2, 'members/workshop/laser')).toBe(true);
    // r2 joined with depth 0: cannot invite anyone
    expect(await refusal(inv().create({ userId: r2 }, { groupId: laser }))).toBe(
      'INVITE_NOT_ALLOWED',
    );
    // when r1 loses the right, r1's pending link stops working
    const third = await inv().create(r1Actor, { groupId: laser });
    await gh.access.removeMember(as('owner'), laser, r1);
    expect((await inv().inspect(third.token))?.status).toBe('revoked');
    expect(await refusal(inv().accept({ userId: r3 }, third.token))).toBe('INVITATION_REVOKED');
    // and a removed person cannot rejoin through the link they used
    expect(await refusal(inv().accept({ userId: r1 }, top.token))).toBe('INVITATION_USED_UP');
  });

  it('lets exactly one of two people racing for the last use through', async () => {
    const laser = (await gh.access.getGroup('members/workshop/laser')).id;
    for (let round = 0; round < 5; round++) {
      const x = await user(`race${round}x`);
      const y = await user(`race${round}y`);
      const { token } = await inv().create(as('owner'), { groupId: laser, maxUses: 1 });
      // two instances, one database: the accepts really run concurrently
      const results = await Promise.allSettled([
        a.gh.access.invitations.accept({ userId: x }, token),
        b.gh.access.invitations.accept({ userId: y }, token),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(failed.reason).toMatchObject({ code: 'INVITATION_USED_UP' });
      const members = [
        await gh.access.decide(x, 'members/workshop/laser'),
        await gh.access.decide(y, 'members/workshop/laser'),
      ];
      expect(members.filter(Boolean)).toHaveLength(1);
      expect(
        (await inv().list(laser)).find(
          (i) => i.status === 'pending' && i.maxUses === 1 && i.uses === 1,
        ),
      ).toBeUndefined();
    }
  });
});
