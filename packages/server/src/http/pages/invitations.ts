// The invitation link's landing page at /invite/<token>: what the invitation offers, accepting
// it when signed in, and creating an account through it when registration allows. Every
// refusal is the domain's AccessError, shown on the page with its status.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessError } from '../../access/errors.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import { clientAddress } from '../client-address.ts';
import type { CookiePolicy } from '../cookies.ts';
import { HttpError } from '../errors.ts';
import { sendPage } from '../form.ts';
import { viewUser } from '../view-user.ts';
import { invitePage } from '../views/invitation-pages.ts';
import { registerPage } from '../views/pages.ts';
import { actorOf } from './actor.ts';
import { authFlows } from './auth.ts';

export async function invitationPages(
  app: FastifyInstance,
  opts: { gh: Gatehouse; cookies: CookiePolicy },
) {
  const { gh, cookies } = opts;
  const { config } = gh;
  const signedInForm = { preHandler: [app.checkCsrf, app.requirePageUser] };
  const csrf = { preHandler: app.checkCsrf };
  const { signIn, registerFromForm } = authFlows(gh, cookies);
  const registrationAllowed = () =>
    config.registration === 'open' || config.registration === 'invite';

  async function renderInvite(
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    error?: string,
  ) {
    const inv = await gh.access.invitations.inspect(token);
    const status = !inv ? 404 : inv.status === 'pending' ? (error ? 409 : 200) : 410;
    return sendPage(
      reply,
      invitePage({
        user: viewUser(request.user),
        csrfToken: request.csrfToken(),
        token,
        invitation: inv,
        registrationAllowed: registrationAllowed(),
        error: error ?? null,
      }),
      status,
    );
  }

  app.get('/invite/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    return renderInvite(request, reply, token);
  });

  async function accept(request: FastifyRequest, reply: FastifyReply, token: string) {
    try {
      const result = await gh.access.invitations.accept(actorOf(request), token);
      return reply.redirect(
        `/account?notice=${result.alreadyMember ? 'already-member' : 'joined'}`,
        303,
      );
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      return renderInvite(request, reply, token, err.message);
    }
  }

  app.post('/invite/:token/accept', signedInForm, async (request, reply) => {
    const { token } = request.params as { token: string };
    return accept(request, reply, token);
  });

  const inviteRegisterPage = (
    request: FastifyRequest,
    token: string,
    groupPath: string,
    extra = {},
  ) =>
    registerPage({
      csrfToken: request.csrfToken(),
      title: 'Create your account',
      intro: `Then you join ${groupPath}. One account opens every service your community runs.`,
      action: `/invite/${encodeURIComponent(token)}/register`,
      ...extra,
    });

  /** The invitation if it can still be used and registration through it is allowed. */
  async function registrable(request: FastifyRequest, reply: FastifyReply, token: string) {
    const inv = await gh.access.invitations.inspect(token);
    if (inv?.status !== 'pending') {
      await renderInvite(request, reply, token);
      return null;
    }
    if (!registrationAllowed())
      throw new HttpError('FORBIDDEN', {
        message: 'Registration is closed. Sign in with an existing account to accept.',
      });
    return inv;
  }

  app.get('/invite/:token/register', async (request, reply) => {
    const { token } = request.params as { token: string };
    if (request.user) return reply.redirect(`/invite/${encodeURIComponent(token)}`, 303);
    const inv = await registrable(request, reply, token);
    if (!inv) return reply;
    return sendPage(reply, inviteRegisterPage(request, token, inv.groupPath));
  });

  app.post('/invite/:token/register', csrf, async (request, reply) => {
    const { token } = request.params as { token: string };
    const inv = await registrable(request, reply, token);
    if (!inv) return reply;
    const verdict = await gh.throttle.hit('register', clientAddress(request), 10, 60 * 60_000);
    if (!verdict.allowed)
      throw new HttpError('RATE_LIMITED', { retryAfterSeconds: verdict.retryAfterSeconds });
    const { user, values, errors } = await registerFromForm(request, {}, { invitation: inv.id });
    if (!user)
      return sendPage(
        reply,
        inviteRegisterPage(request, token, inv.groupPath, { values, errors: errors! }),
        400,
      );
    await signIn(request, reply, user.id);
    request.user = user;
    return accept(request, reply, token);
  });
}
