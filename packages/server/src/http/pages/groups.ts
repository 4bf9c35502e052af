// Access groups on the pages: "My groups" on /account, each group's page for its owners
// (members, invitations with a QR code, subgroups, deletion). The invitation landing page at
// /invite/<token> is in invitations.ts, /admin in admin.ts. Every handler is a thin call into gh.access.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { AccessError } from '../../access/errors.ts';
import type { GroupRole } from '../../access/types.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import { UUID } from '../../patterns.ts';
import { HttpError } from '../errors.ts';
import { formField, sendPage } from '../form.ts';
import { viewUser } from '../view-user.ts';
import type { Notice } from '../views/components.ts';
import {
  deleteGroupPage,
  groupPage,
  invitationCreatedPage,
  myGroupsSection,
} from '../views/groups-pages.ts';
import { actorOf } from './actor.ts';

export const GROUP_NOTICES: Record<string, Notice> = {
  joined: { kind: 'success', text: 'You have joined the group.' },
  'already-member': { kind: 'info', text: 'You were already in that group.' },
  left: { kind: 'success', text: 'You have left the group.' },
  'group-deleted': { kind: 'success', text: 'The group has been deleted.' },
};

const NOTICES: Record<string, Notice> = {
  'member-removed': {
    kind: 'success',
    text: 'The member has been removed. It takes effect at once.',
  },
  'invitation-revoked': { kind: 'success', text: 'The invitation has been revoked.' },
  'subgroup-created': { kind: 'success', text: 'The subgroup has been created.' },
};

const DAY = 86_400_000;

/** The "My groups" panel for /account. */
export async function myGroupsPanel(gh: Gatehouse, userId: string, csrfToken: string) {
  const [memberships, managed, effective] = await Promise.all([
    gh.access.membershipsOf(userId),
    gh.access.managedGroupsOf(userId),
    gh.access.groupsOf(userId),
  ]);
  return myGroupsSection({ memberships, managed, effective, csrfToken });
}

export async function groupPages(app: FastifyInstance, opts: { gh: Gatehouse }) {
  const { gh } = opts;
  const signedIn = { preHandler: app.requirePageUser };
  const signedInForm = { preHandler: [app.checkCsrf, app.requirePageUser] };

  /** The group named by the :id parameter, if the viewer may see its page; else 404. */
  async function groupFor(request: FastifyRequest) {
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) throw new HttpError('NOT_FOUND');
    const group = await gh.access.findGroup(id);
    if (!group) throw new HttpError('NOT_FOUND');
    const actor = actorOf(request);
    const manage = await gh.access.canManage(actor, group.path);
    const rights = await gh.access.invitations.inviteRights(actor.userId, group.path);
    // Someone who may neither manage nor invite learns nothing about the group, not even that it exists.
    if (!manage && rights.role === null) throw new HttpError('NOT_FOUND');
    return { group, manage, rights };
  }

  async function renderGroup(
    request: FastifyRequest,
    reply: FastifyReply,
    status = 200,
    errors?: Record<string, string>,
  ) {
    const { group, manage, rights } = await groupFor(request);
    const notice = NOTICES[String((request.query as Record<string, unknown>).notice ?? '')] ?? null;
    const [members, invitations, subgroups] = manage
      ? await Promise.all([
          gh.access.listMembers(group.id),
          gh.access.invitations.list(group.id, { pending: true }),
          gh.access.listGroups({ under: group.path }),
        ])
      : [[], [], []];
    return sendPage(
      reply,
      groupPage({
        user: viewUser(request.user)!,
        csrfToken: request.csrfToken(),
        group,
        manage,
        rights: { role: rights.role, shareDepth: rights.shareDepth },
        members,
        invitations,
        subgroups: subgroups.filter((g) => g.parentId === group.id),
        notice,
        errors,
      }),
      status,
    );
  }

  /** Runs a group action; an AccessError re-renders the group page with its message. */
  async function act(
    request: FastifyRequest,
    reply: FastifyReply,
    action: () => Promise<unknown>,
    redirect: string,
    field = 'form',
  ) {
    try {
      await action();
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      return renderGroup(request, reply, err.status, { [field]: err.message });
    }
    return reply.redirect(redirect, 303);
  }

  app.get('/account/groups/:id', signedIn, async (request, reply) => renderGroup(request, reply));

  app.post('/account/groups/:id/leave', signedInForm, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) throw new HttpError('NOT_FOUND');
    try {
      await gh.access.leave(actorOf(request), id);
    } catch (err) {
      if (
        err instanceof AccessError &&
        (err.code === 'NOT_A_MEMBER' || err.code === 'GROUP_NOT_FOUND')
      )
        throw new HttpError('NOT_FOUND');
      if (err instanceof AccessError) throw new HttpError('FORBIDDEN', { message: err.message });
      throw err;
    }
    return reply.redirect('/account?notice=left', 303);
  });

  app.post('/account/groups/:id/members/:userId/remove', signedInForm, async (request, reply) => {
    const { group } = await groupFor(request);
    const { userId } = request.params as { userId: string };
    if (!UUID.test(userId)) throw new HttpError('NOT_FOUND');
    return act(
      request,
      reply,
      () => gh.access.removeMember(actorOf(request), group.id, userId),
      `/account/groups/${group.id}?notice=member-removed`,
    );
  });

  app.post('/account/groups/:id/subgroups', signedInForm, async (request, reply) => {
    const { group } = await groupFor(request);
    const name = formField(request.body, 'name').trim();
    return act(
      request,
      reply,
      () => gh.access.createGroup(actorOf(request), { path: `${group.path}/${name}` }),
      `/account/groups/${group.id}?notice=subgroup-created`,
      'subgroup',
    );
  });

  app.post('/account/groups/:id/invitations', signedInForm, async (request, reply) => {
    const { group } = await groupFor(request);
    const b = request.body;
    const int = (name: string, fallback: number) => {
      const raw = formField(b, name);
      return raw === '' ? fallback : /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
    };
    let created: Awaited<ReturnType<typeof gh.access.invitations.create>>;
    try {
      created = await gh.access.invitations.create(actorOf(request), {
        groupId: group.id,
        role: (formField(b, 'role') || 'member') as GroupRole,
        maxUses: int('max_uses', 1),
        expiresInMs: int('expires_in_days', 7) * DAY,
        shareDepth: int('share_depth', 0),
        note: formField(b, 'note'),
      });
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      return renderGroup(request, reply, err.status, { form: err.message });
    }
    const svg = await QRCode.toString(created.url, { type: 'svg', margin: 1 });
    return sendPage(
      reply,
      invitationCreatedPage({
        user: viewUser(request.user)!,
        csrfToken: request.csrfToken(),
        group,
        url: created.url,
        token: created.token,
        svg,
        invitation: created.invitation,
      }),
      201,
    );
  });

  // A POST (the token in the body, not the URL) so the secret stays out of logs and history.
  app.post('/account/groups/:id/invitations/qr.png', signedInForm, async (request, reply) => {
    const { group } = await groupFor(request);
    const token = formField(request.body, 'token');
    const inv = await gh.access.invitations.inspect(token);
    if (!inv || inv.groupId !== group.id) throw new HttpError('NOT_FOUND');
    const png = await QRCode.toBuffer(gh.access.invitations.urlFor(token), {
      type: 'png',
      width: 600,
      margin: 2,
    });
    return reply
      .type('image/png')
      .header(
        'content-disposition',
        `attachment; filename="invitation-${group.path.replaceAll('/', '-')}.png"`,
      )
      .send(png);
  });

  app.post('/account/invitations/:id/revoke', signedInForm, async (request, reply) => {
    const { id } = request.params as { id: string };
    const inv = UUID.test(id) ? await gh.access.invitations.get(id) : null;
    if (!inv) throw new HttpError('NOT_FOUND');
    try {
      await gh.access.invitations.revoke(actorOf(request), inv.id);
    } catch (err) {
      if (err instanceof AccessError) throw new HttpError('NOT_FOUND');
      throw err;
    }
    return reply.redirect(`/account/groups/${inv.groupId}?notice=invitation-revoked`, 303);
  });

  app.get('/account/groups/:id/delete', signedIn, async (request, reply) => {
    const { group, manage } = await groupFor(request);
    if (!manage) throw new HttpError('FORBIDDEN');
    return sendPage(
      reply,
      deleteGroupPage({
        user: viewUser(request.user)!,
        csrfToken: request.csrfToken(),
        group,
        preview: await gh.access.deletePreview(group.id),
      }),
    );
  });

  app.post('/account/groups/:id/delete', signedInForm, async (request, reply) => {
    const { group } = await groupFor(request);
    const cascade = formField(request.body, 'cascade') === 'yes';
    try {
      await gh.access.deleteGroup(actorOf(request), group.id, { cascade });
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      return renderGroup(request, reply, err.status, { form: err.message });
    }
    return reply.redirect('/account?notice=group-deleted', 303);
  });
}
