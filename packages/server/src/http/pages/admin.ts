// /admin for administrators: every group tree, and a form to create a group anywhere (with its
// first owner). Every handler is a thin call into gh.access.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ACCESS_ERRORS, AccessError } from '../../access/errors.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import { HttpError } from '../errors.ts';
import { formField, sendPage } from '../form.ts';
import { viewUser } from '../view-user.ts';
import { adminPage } from '../views/admin-page.ts';
import type { Notice } from '../views/components.ts';
import { actorOf } from './actor.ts';

const NOTICES: Record<string, Notice> = {
  'group-created': { kind: 'success', text: 'The group has been created.' },
};

export async function adminPages(app: FastifyInstance, opts: { gh: Gatehouse }) {
  const { gh } = opts;
  const signedIn = { preHandler: app.requirePageUser };
  const signedInForm = { preHandler: [app.checkCsrf, app.requirePageUser] };

  async function requireAdmin(request: FastifyRequest) {
    if (!(await gh.access.isAdmin(request.user!.id))) throw new HttpError('FORBIDDEN');
  }

  async function renderAdmin(
    request: FastifyRequest,
    reply: FastifyReply,
    status = 200,
    errors?: Record<string, string>,
  ) {
    const notice = NOTICES[String((request.query as Record<string, unknown>).notice ?? '')] ?? null;
    const groups = await gh.access.listGroupsWithCounts();
    return sendPage(
      reply,
      adminPage({
        user: viewUser(request.user)!,
        csrfToken: request.csrfToken(),
        groups,
        notice,
        errors,
      }),
      status,
    );
  }

  app.get('/admin', signedIn, async (request, reply) => {
    await requireAdmin(request);
    return renderAdmin(request, reply);
  });

  app.post('/admin/groups', signedInForm, async (request, reply) => {
    await requireAdmin(request);
    const path = formField(request.body, 'path').trim();
    const description = formField(request.body, 'description');
    const ownerName = formField(request.body, 'owner').trim();
    const owner = ownerName ? await gh.accounts.findByUsername(ownerName) : null;
    if (ownerName && !owner)
      return renderAdmin(request, reply, 400, { owner: ACCESS_ERRORS.USER_NOT_FOUND.message });
    try {
      const group = await gh.access.createGroup(actorOf(request), { path, description });
      if (owner) await gh.access.addMember(actorOf(request), group.id, owner.id, 'owner');
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      const field = err.code === 'DESCRIPTION_INVALID' ? 'description' : 'path';
      return renderAdmin(request, reply, err.status, { [field]: err.message });
    }
    return reply.redirect('/admin?notice=group-created', 303);
  });
}
