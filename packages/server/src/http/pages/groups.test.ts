import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInjectClient } from '../../testing/inject-client.ts';
import {
  createTestGatehouse,
  storageMode,
  type TestGatehouse,
} from '../../testing/test-gatehouse.ts';

let t: TestGatehouse;
let n = 0;
const PASSWORD = 'member password 1';
const system = { userId: null };

async function member(options: { admin?: boolean } = {}) {
  const i = ++n;
  const user = await t.gh.accounts.create({
    username: `g${i}`,
    email: `g${i}@example.org`,
    password: PASSWORD,
    admin: options.admin,
  });
  const c = createInjectClient(t.app, { ip: `10.2.0.${i}` });
  expect((await c.signIn(user.username, PASSWORD)).statusCode).toBe(303);
  return { user, c };
}

function linkIn(body: string): string {
  const m = body.match(/value="(http:\/\/localhost:8000\/invite\/gth_inv_[0-9A-Za-z_]+)"/);
  expect(m).not.toBeNull();
  return new URL(m![1]!).pathname;
}

let owner: Awaited<ReturnType<typeof member>>;
let groupId: string;

beforeAll(async () => {
  t = await createTestGatehouse();
  owner = await member();
  await t.gh.access.createGroup(system, { path: 'club' });
  groupId = (await t.gh.access.createGroup(system, { path: 'club/chess' })).id;
  await t.gh.access.addMember(system, groupId, owner.user.id, 'owner');
});
afterAll(() => t?.close());

describe(`group pages (${storageMode()})`, () => {
  it('shows my groups on /account with manage and leave', async () => {
    const res = await owner.c.get('/account');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('My groups');
    expect(res.body).toContain('club/chess');
    expect(res.body).toContain(`/account/groups/${groupId}`);
    expect(res.body).toContain(`action="/account/groups/${groupId}/leave"`);
  });

  it('lets an owner invite by link; a signed-out person registers through it and joins', async () => {
    const page = await owner.c.get(`/account/groups/${groupId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Create invitation link');
    const created = await owner.c.post(`/account/groups/${groupId}/invitations`, {
      role: 'member',
      max_uses: '1',
      expires_in_days: '7',
      share_depth: '0',
      note: 'for <b>newbie</b>',
    });
    expect(created.statusCode).toBe(201);
    expect(created.body).toContain('<svg');
    expect(created.body).not.toContain('<b>newbie</b>');
    const path = linkIn(created.body);
    const token = path.split('/').pop()!;
    // the PNG download
    const png = await owner.c.post(`/account/groups/${groupId}/invitations/qr.png`, { token });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
    // the invitee
    const guest = createInjectClient(t.app, { ip: '10.3.0.1' });
    const landing = await guest.get(path);
    expect(landing.statusCode).toBe(200);
    expect(landing.body).toContain('Join <span class="mono">club/chess</span>');
    expect(landing.body).toContain('Sign in to accept');
    expect(landing.body).toContain(`${path}/register`);
    const form = await guest.get(`${path}/register`);
    expect(form.statusCode).toBe(200);
    const done = await guest.post(`${path}/register`, {
      username: 'newbie',
      email: 'newbie@example.org',
      password: PASSWORD,
      password_confirm: PASSWORD,
    });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/account?notice=joined');
    const newbie = (await t.gh.accounts.findByUsername('newbie'))!;
    expect(await t.gh.access.decide(newbie.id, 'club/chess')).toBe(true);
    const account = await guest.get('/account?notice=joined');
    expect(account.body).toContain('You have joined the group.');
    // the link is now used up, and says so
    const again = await createInjectClient(t.app).get(path);
    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('This invitation has been used up');
    // the owner removes them: at once
    const removed = await owner.c.post(`/account/groups/${groupId}/members/${newbie.id}/remove`);
    expect(removed.statusCode).toBe(303);
    expect(await t.gh.access.decide(newbie.id, 'club/chess')).toBe(false);
  });

  it('lets a signed-in member accept, then leave', async () => {
    const { token } = await t.gh.access.invitations.create(system, { groupId, maxUses: 5 });
    const m = await member();
    const res = await m.c.get(`/invite/${token}`);
    expect(res.body).toContain(`action="/invite/${token}/accept"`);
    const accepted = await m.c.post(`/invite/${token}/accept`);
    expect(accepted.headers.location).toBe('/account?notice=joined');
    expect((await m.c.post(`/invite/${token}/accept`)).headers.location).toBe(
      '/account?notice=already-member',
    );
    const left = await m.c.post(`/account/groups/${groupId}/leave`);
    expect(left.headers.location).toBe('/account?notice=left');
    expect(await t.gh.access.decide(m.user.id, 'club/chess')).toBe(false);
  });

  it('says clearly when a link is revoked, expired or broken', async () => {
    const { token, invitation } = await t.gh.access.invitations.create(system, { groupId });
    const revoke = await owner.c.post(`/account/invitations/${invitation.id}/revoke`);
    expect(revoke.headers.location).toBe(`/account/groups/${groupId}?notice=invitation-revoked`);
    const res = await createInjectClient(t.app).get(`/invite/${token}`);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('This invitation was withdrawn');
    for (const bad of ['x', 'gth_inv_00', `${token.slice(0, -3)}abc`, 'a'.repeat(190)]) {
      const r = await createInjectClient(t.app).get(`/invite/${bad}`);
      expect(r.statusCode).toBe(404);
      expect(r.body).toContain('This invitation link is not valid');
    }
    expect((await createInjectClient(t.app).get('/invite/%00%ff')).statusCode).toBe(400);
  });

  it('hides a group from people who may not manage or invite to it, and checks CSRF', async () => {
    const outsider = await member();
    expect((await outsider.c.get(`/account/groups/${groupId}`)).statusCode).toBe(404);
    expect((await outsider.c.get('/account/groups/not-a-uuid')).statusCode).toBe(404);
    const r = await outsider.c.post(`/account/groups/${groupId}/invitations`, { role: 'owner' });
    expect(r.statusCode).toBe(404);
    const noCsrf = await owner.c.post(`/account/groups/${groupId}/subgroups`, {
      _csrf: 'wrong',
      name: 'x',
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(await t.gh.access.findGroup('club/chess/x')).toBeNull();
    const anon = await createInjectClient(t.app).get(`/account/groups/${groupId}`);
    expect(anon.statusCode).toBe(303);
  });

  it('refuses hostile invitation and subgroup input with a clear message', async () => {
    const forms: Record<string, string>[] = [
      { max_uses: 'lots' },
      { max_uses: '0' },
      { expires_in_days: '-1' },
      { share_depth: '99' },
      { role: 'god' },
      { note: 'x'.repeat(500) },
    ];
    for (const form of forms) {
      const r = await owner.c.post(`/account/groups/${groupId}/invitations`, form);
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
      expect(r.body).toContain('class="alert alert--error"');
    }
    const bad = await owner.c.post(`/account/groups/${groupId}/subgroups`, { name: '../Evil' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Group names are lowercase');
    const ok = await owner.c.post(`/account/groups/${groupId}/subgroups`, { name: 'blitz' });
    expect(ok.headers.location).toBe(`/account/groups/${groupId}?notice=subgroup-created`);
  });

  it('deletes a group after showing what goes with it', async () => {
    const sub = (await t.gh.access.findGroup('club/chess/blitz'))!;
    const preview = await owner.c.get(`/account/groups/${sub.id}/delete`);
    expect(preview.body).toContain('Delete <span class="mono">club/chess/blitz</span>?');
    const del = await owner.c.post(`/account/groups/${sub.id}/delete`);
    expect(del.headers.location).toBe('/account?notice=group-deleted');
    expect(await t.gh.access.findGroup('club/chess/blitz')).toBeNull();
  });

  it('shows /admin only to administrators, who create groups there', async () => {
    expect((await owner.c.get('/admin')).statusCode).toBe(403);
    const admin = await member({ admin: true });
    const page = await admin.c.get('/admin');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('club');
    const created = await admin.c.post('/admin/groups', {
      path: 'hackspace',
      owner: owner.user.username,
    });
    expect(created.headers.location).toBe('/admin?notice=group-created');
    const hs = (await t.gh.access.findGroup('hackspace'))!;
    expect(await t.gh.access.canManage({ userId: owner.user.id }, hs.path)).toBe(true);
    const bad = await admin.c.post('/admin/groups', { path: 'Bad Path' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Group names are lowercase');
    expect((await owner.c.post('/admin/groups', { path: 'mine' })).statusCode).toBe(403);
  });
});
