// The provider's interactions as Gatehouse pages: sign-in through the Gatehouse session (the
// login prompt) and the consent page. What they decide lives in oidc/: when a fresh sign-in
// is needed (oidc/interactions.ts) and what an answer grants (oidc/consents.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../gatehouse.ts';
import { OIDC_PREFIX } from '../oidc/routes.ts';
import { asIssuer } from './as-issuer.ts';
import { clientAddress, proxyTrust } from './client-address.ts';
import { HttpError } from './errors.ts';
import { formField, sendPage } from './form.ts';
import { allowFormRedirects } from './security.ts';
import { viewUser } from './view-user.ts';
import { consentPage } from './views/oidc-pages.ts';

/** Seconds since the epoch, as OIDC counts auth_time. */
const epoch = (ms: number) => Math.floor(ms / 1000);

export async function oidcInteractionPages(app: FastifyInstance, opts: { gh: Gatehouse }) {
  const { gh } = opts;
  const { state } = gh.oidc;
  const issuer = new URL(gh.config.issuer);
  const trust = proxyTrust(gh.config);

  /** The interaction the browser's cookie points at, or a page saying the link has expired. */
  async function interactionOf(request: FastifyRequest, reply: FastifyReply) {
    asIssuer(request.raw, issuer, trust);
    try {
      return await state.current.provider.interactionDetails(request.raw, reply.raw);
    } catch {
      throw new HttpError('BAD_REQUEST', {
        message:
          'This sign-in link has expired or was already used. Go back to the service and start again.',
      });
    }
  }

  await app.register(async (pages) => {
    pages.get<{ Params: { uid: string } }>(
      `${OIDC_PREFIX}/interaction/:uid`,
      async (request, reply) => {
        const { provider } = state.current;
        const details = await interactionOf(request, reply);
        if (details.uid !== request.params.uid)
          throw new HttpError('BAD_REQUEST', { message: 'This sign-in link does not match.' });
        const { prompt, params } = details;
        const user = request.user;
        const session = request.session;

        if (prompt.name === 'login') {
          // prompt=login, or a session older than max_age: sign in again first (once).
          const tooOld =
            session !== null &&
            (await gh.oidc.needsFreshSignIn(
              { uid: details.uid, reasons: prompt.reasons, maxAge: params.max_age },
              session,
            ));
          if (!user || !session || tooOld) {
            const query = new URLSearchParams({ return_to: request.url });
            if (tooOld) query.set('prompt', 'login');
            if (typeof params.login_hint === 'string') query.set('login_hint', params.login_hint);
            return reply.redirect(`/login?${query}`, 303);
          }
          reply.hijack();
          return provider.interactionFinished(
            request.raw,
            reply.raw,
            { login: { accountId: user.id, ts: epoch(session.createdAt), amr: ['pwd'] } },
            { mergeWithLastSubmission: false },
          );
        }

        if (!user || user.id !== details.session?.accountId) {
          return reply.redirect(`/login?${new URLSearchParams({ return_to: request.url })}`, 303);
        }
        const clientId = String(params.client_id);
        const row = await state.current.clientRow(clientId);
        const missing = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
        const resources = Object.keys(prompt.details.missingResourceScopes ?? {});
        allowFormRedirects(reply);
        return sendPage(
          reply,
          consentPage({
            user: viewUser(user)!,
            csrfToken: request.csrfToken(),
            uid: details.uid,
            clientName: row?.name ?? 'A service',
            logoUri: row?.logoUri ?? null,
            scopes: missing.length
              ? missing
              : resources.length
                ? []
                : String(params.scope ?? 'openid').split(' '),
            resources,
          }),
        );
      },
    );

    pages.post<{ Params: { uid: string } }>(
      `${OIDC_PREFIX}/interaction/:uid/consent`,
      { preHandler: app.checkCsrf },
      async (request, reply) => {
        const { provider } = state.current;
        const details = await interactionOf(request, reply);
        const user = request.user;
        if (!user || details.prompt.name !== 'consent' || details.session?.accountId !== user.id) {
          throw new HttpError('BAD_REQUEST', {
            message: 'This consent request is not yours or has already been answered.',
          });
        }
        const decision = formField(request.body, 'decision');
        reply.hijack();
        if (decision !== 'allow') {
          return provider.interactionFinished(
            request.raw,
            reply.raw,
            { error: 'access_denied', error_description: 'The member did not allow access' },
            { mergeWithLastSubmission: false },
          );
        }
        // What the answer grants, remembered and recorded (oidc/consents.ts).
        const savedGrantId = await gh.oidc.consents.allow(provider, details, {
          userId: user.id,
          ip: clientAddress(request),
        });
        if (!savedGrantId)
          throw new HttpError('BAD_REQUEST', {
            message: 'This sign-in has expired. Go back to the service and start again.',
          });
        return provider.interactionFinished(
          request.raw,
          reply.raw,
          { consent: { grantId: savedGrantId } },
          { mergeWithLastSubmission: true },
        );
      },
    );
  });
}
