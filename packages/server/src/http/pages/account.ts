// The member's own pages: the portal at "/" and /account (profile, password, sessions).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccountError } from '../../accounts/errors.ts';
import { expiresAtFrom } from '../../apitokens/apitokens.ts';
import { ApiTokenError } from '../../apitokens/errors.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import type { ConnectedServices } from '../../oidc/connected-services.ts';
import { SCOPES } from '../api/scopes.ts';
import { clientAddress } from '../client-address.ts';
import { HttpError } from '../errors.ts';
import { formField, sendPage } from '../form.ts';
import { viewUser } from '../view-user.ts';
import type { ApiTokensSectionProps } from '../views/api-tokens-section.ts';
import { accountPage, type Notice, portalPage } from '../views/pages.ts';
import { actorOf } from './actor.ts';
import { GROUP_NOTICES, myGroupsPanel } from './groups.ts';

type TokenFormState = Pick<ApiTokensSectionProps, 'created' | 'errors' | 'values'>;

/** Every value of a form field sent once or repeated (checkboxes); non-text values are dropped. */
function formFields(body: unknown, name: string): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const value = (body as Record<string, unknown>)[name];
  return [value].flat().filter((v): v is string => typeof v === 'string');
}

// Confirmations travel as a fixed code in the redirect (post/redirect/get), never as free text.
const NOTICES: Record<string, Notice> = {
  'profile-saved': { kind: 'success', text: 'Your profile has been saved.' },
  'password-changed': {
    kind: 'success',
    text: 'Your password has been changed. Your other sessions have been signed out.',
  },
  'session-revoked': { kind: 'success', text: 'That session has been signed out.' },
  'others-revoked': { kind: 'success', text: 'All your other sessions have been signed out.' },
  'token-revoked': { kind: 'success', text: 'That API token has been revoked.' },
  'service-revoked': {
    kind: 'success',
    text: 'That service no longer has access to your account. It will ask again if you use it.',
  },
  ...GROUP_NOTICES,
};

export async function accountPages(
  app: FastifyInstance,
  opts: { gh: Gatehouse; connected: ConnectedServices },
) {
  const { gh, connected } = opts;
  const mayUse = gh.mayUse;
  const signedIn = { preHandler: app.requirePageUser };
  const signedInForm = { preHandler: [app.checkCsrf, app.requirePageUser] };

  async function renderAccount(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    errors?: Record<string, string>,
    tokenForm: TokenFormState = {},
  ) {
    const user = request.user!;
    const notice = NOTICES[String((request.query as Record<string, unknown>).notice ?? '')] ?? null;
    const [listed, tokens, grantable, services] = await Promise.all([
      gh.sessions.listForUser(user.id),
      gh.apiTokens.listForUser(user.id),
      gh.apiTokens.grantableScopes(user.id),
      connected.list(user.id),
    ]);
    const sessions = listed.map((s) => ({ ...s, current: s.id === request.session?.id }));
    const descriptions: Record<string, string> = SCOPES;
    return sendPage(
      reply,
      accountPage({
        user: viewUser(user)!,
        csrfToken: request.csrfToken(),
        sessions,
        services,
        notice,
        errors,
        apiTokens: {
          tokens,
          grantable: grantable.map((scope) => ({
            scope,
            description: descriptions[scope] ?? null,
          })),
          ...tokenForm,
        },
        groups: await myGroupsPanel(gh, user.id, request.csrfToken()),
      }),
      status,
    );
  }

  /**
   * Runs a form action; an AccountError is shown at its field on the re-rendered page
   * (fieldNames maps the account subsystem's field names to this form's).
   */
  async function act(
    request: FastifyRequest,
    reply: FastifyReply,
    action: () => Promise<unknown>,
    notice: string,
    fieldNames: Record<string, string> = {},
  ) {
    try {
      await action();
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      const field = err.field ? (fieldNames[err.field] ?? err.field) : 'form';
      return renderAccount(request, reply, err.status, { [field]: err.message });
    }
    return reply.redirect(`/account?notice=${notice}`, 303);
  }

  // The portal: a tile for every client with a launch URL that this member may sign in to.
  app.get('/', signedIn, async (request, reply) => {
    const user = request.user!;
    const services = [];
    for (const client of await gh.clients.list()) {
      if (!client.launchUrl || !(await mayUse(user.id, client.accessRule))) continue;
      services.push({ name: client.name, url: client.launchUrl, logoUrl: client.logoUri });
    }
    return sendPage(
      reply,
      portalPage({ user: viewUser(user)!, csrfToken: request.csrfToken(), services }),
    );
  });

  app.get('/account', signedIn, async (request, reply) => renderAccount(request, reply, 200));

  app.post('/account/profile', signedInForm, async (request, reply) => {
    const b = request.body;
    return act(
      request,
      reply,
      () =>
        gh.accounts.updateProfile(
          request.user!.id,
          {
            name: formField(b, 'name'),
            email: formField(b, 'email'),
            pictureUrl: formField(b, 'picture_url'),
          },
          actorOf(request),
        ),
      'profile-saved',
    );
  });

  app.post('/account/password', signedInForm, async (request, reply) => {
    const b = request.body;
    const user = request.user!;
    return act(
      request,
      reply,
      async () => {
        await gh.accounts.changePassword(
          user.id,
          formField(b, 'current_password'),
          formField(b, 'new_password'),
          formField(b, 'new_password_confirm'),
          actorOf(request),
        );
        // Part of the password change: not recorded on its own.
        await gh.sessions.revokeAllForUser(user.id, { except: request.session!.id });
      },
      'password-changed',
      { password: 'new_password', password_confirm: 'new_password_confirm' },
    );
  });

  app.post('/account/sessions/:id/revoke', signedInForm, async (request, reply) => {
    const { id } = request.params as { id: string };
    // Someone else's session id answers exactly like an unknown one.
    if (!(await gh.sessions.revokeOne(actorOf(request), request.user!.id, id)))
      throw new HttpError('NOT_FOUND');
    if (id === request.session!.id) return reply.redirect('/login', 303);
    return reply.redirect('/account?notice=session-revoked', 303);
  });

  app.post('/account/sessions/revoke-others', signedInForm, async (request, reply) => {
    await gh.sessions.revokeOthers(actorOf(request), request.session!.id);
    return reply.redirect('/account?notice=others-revoked', 303);
  });

  app.post('/account/services/:id/revoke', signedInForm, async (request, reply) => {
    const { id } = request.params as { id: string };
    const user = request.user!;
    const revoked = await connected.disconnect(user.id, id, {
      ip: clientAddress(request),
      via: 'account',
    });
    // A service this member never allowed (another member's, or none) answers like an unknown one.
    if (!revoked) {
      throw new HttpError('NOT_FOUND', {
        message: 'You have not allowed that service, or its access was already removed.',
      });
    }
    return reply.redirect('/account?notice=service-revoked', 303);
  });

  app.post('/account/tokens', signedInForm, async (request, reply) => {
    const b = request.body;
    const user = request.user!;
    const values = {
      name: formField(b, 'name'),
      scopes: formFields(b, 'scopes'),
      expires: formField(b, 'expires_in'),
    };
    try {
      const { token, info, warnings } = await gh.apiTokens.create(
        user.id,
        {
          name: values.name,
          scopes: values.scopes,
          expiresAt: expiresAtFrom(values.expires, gh.now()),
        },
        { ...actorOf(request), via: 'account' },
      );
      // Shown on this response only: the token is not stored and no redirect could carry it.
      return renderAccount(request, reply, 201, undefined, {
        created: { token, name: info.name, warnings },
      });
    } catch (err) {
      if (!(err instanceof ApiTokenError)) throw err;
      return renderAccount(request, reply, err.status, undefined, {
        errors: { [err.field ?? 'name']: err.message },
        values,
      });
    }
  });

  app.post('/account/tokens/:id/revoke', signedInForm, async (request, reply) => {
    const { id } = request.params as { id: string };
    // Someone else's token id answers exactly like an unknown one.
    const actor = { ...actorOf(request), via: 'account' as const };
    if (!(await gh.apiTokens.revoke(id, { userId: actor.userId }, actor)))
      throw new HttpError('NOT_FOUND');
    return reply.redirect('/account?notice=token-revoked', 303);
  });
}
