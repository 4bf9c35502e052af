// Signing in, signing out, registering, and creating the first administrator.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkNewPassword, type NewUser } from '../../accounts/accounts.ts';
import { AccountError } from '../../accounts/errors.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import { clientAddress } from '../client-address.ts';
import { type CookiePolicy, clearSessionCookie, setSessionCookie } from '../cookies.ts';
import { HttpError } from '../errors.ts';
import { formField, sendPage } from '../form.ts';
import { safeReturnTo } from '../return-to.ts';
import { allowFormRedirects } from '../security.ts';
import { viewUser } from '../view-user.ts';
import {
  loginPage,
  messagePage,
  registerPage,
  registrationClosedPage,
  setPasswordPage,
} from '../views/pages.ts';

const GENERIC_LOGIN_ERROR = 'The username, email or password is not correct.';

/**
 * Signing in and registering from a form, shared by the pages that end in a new session
 * (sign in, register, setup links, invitation links).
 */
export function authFlows(gh: Gatehouse, cookies: CookiePolicy) {
  /** Starts a fresh session (a new id at every sign-in), ending the one the browser had. */
  async function signIn(request: FastifyRequest, reply: FastifyReply, userId: string) {
    const { token, session } = await gh.sessions.create(userId, {
      ip: clientAddress(request),
      userAgent: request.headers['user-agent'] ?? null,
    });
    // Every sign-in gets a new session id; the old one ends. Signing in again as the same
    // member (prompt=login) keeps what hangs off the session, such as OIDC sign-ins.
    if (request.session) {
      const same = request.session.userId === userId;
      await gh.sessions.revoke(request.session.id, same ? session.id : undefined);
    }
    setSessionCookie(reply, cookies, token);
  }

  /** Signs the member in (the account change is recorded by the service) and sends them home. */
  async function finish(request: FastifyRequest, reply: FastifyReply, userId: string) {
    await signIn(request, reply, userId);
    return reply.redirect('/', 303);
  }

  /**
   * Validates a registration form and creates the account (recorded as the newcomer's own
   * registration: `how` says through which link); errors come back per field.
   */
  async function registerFromForm(
    request: FastifyRequest,
    extra: Partial<NewUser>,
    how: { firstAdmin?: boolean; invitation?: string } = {},
  ) {
    const b = request.body;
    const values = {
      username: formField(b, 'username'),
      email: formField(b, 'email'),
      name: formField(b, 'name'),
    };
    const password = formField(b, 'password');
    try {
      checkNewPassword(password, formField(b, 'password_confirm'));
      const user = await gh.accounts.register(
        { ...values, name: values.name || null, password, ...extra },
        { ip: clientAddress(request), ...how },
      );
      return { user, values, errors: null };
    } catch (err) {
      if (err instanceof AccountError)
        return { user: null, values, errors: { [err.field ?? 'form']: err.message } };
      throw err;
    }
  }

  return { signIn, finish, registerFromForm };
}

export async function authPages(
  app: FastifyInstance,
  opts: { gh: Gatehouse; cookies: CookiePolicy },
) {
  const { gh, cookies } = opts;
  const { config } = gh;
  const csrf = { preHandler: app.checkCsrf };
  const { signIn, finish, registerFromForm } = authFlows(gh, cookies);
  const domains = () => gh.forwardAuth.returnDomains();

  app.get('/login', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    // `rd` is the name Authelia's proxy snippets use; both are checked the same way.
    const returnTo = safeReturnTo(query.return_to ?? query.rd, config.issuer, domains());
    // prompt=login (an OIDC client asking for a fresh sign-in) shows the form even when signed in.
    const forced = query.prompt === 'login';
    if (request.user && !forced) return reply.redirect(returnTo, 303);
    const hint = typeof query.login_hint === 'string' ? query.login_hint.slice(0, 200) : '';
    allowFormRedirects(reply);
    return sendPage(
      reply,
      loginPage({
        csrfToken: request.csrfToken(),
        returnTo: returnTo === '/' ? null : returnTo,
        registrationOpen: config.registration === 'open',
        username: hint || (forced ? request.user?.username : undefined),
      }),
    );
  });

  app.post('/login', csrf, async (request, reply) => {
    const login = formField(request.body, 'username').trim();
    const password = formField(request.body, 'password');
    const returnTo = safeReturnTo(formField(request.body, 'return_to'), config.issuer, domains());
    allowFormRedirects(reply);
    const again = (status: number, error: string) =>
      sendPage(
        reply,
        loginPage({
          csrfToken: request.csrfToken(),
          error,
          username: login.slice(0, 200),
          returnTo: returnTo === '/' ? null : returnTo,
          registrationOpen: config.registration === 'open',
        }),
        status,
      );

    if (!login || !password) return again(400, 'Enter your username or email and your password.');
    const verdict = await gh.throttle.check('login', login, clientAddress(request));
    if (!verdict.allowed) {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return again(
        429,
        `Too many sign-in attempts. Try again in ${verdict.retryAfterSeconds} seconds.`,
      );
    }
    const user = await gh.accounts.authenticate(login, password);
    if (!user) {
      await gh.throttle.failure('login', login, clientAddress(request));
      return again(401, GENERIC_LOGIN_ERROR);
    }
    await gh.throttle.success('login', login, clientAddress(request));
    await signIn(request, reply, user.id);
    return reply.redirect(returnTo, 303);
  });

  // GET shows a confirmation: signing out must be a POST so no image tag can do it.
  app.get('/logout', async (request, reply) => {
    if (!request.user) return reply.redirect('/login', 303);
    return sendPage(
      reply,
      messagePage({
        title: 'Sign out?',
        message:
          'You will be signed out of Gatehouse and every service you opened with it. Use the Sign out button above.',
        user: viewUser(request.user),
        csrfToken: request.csrfToken(),
      }),
    );
  });

  app.post('/logout', csrf, async (request, reply) => {
    if (request.session) {
      // The sign-out takes effect everywhere first; a database outage loses only its audit
      // line (logged instead), not the member's answer.
      const recorded = await gh.sessions.signOut(request.session, { ip: clientAddress(request) });
      if (!recorded)
        request.log.warn(
          { userId: request.session.userId },
          'sign-out not audited: store unavailable',
        );
    }
    clearSessionCookie(reply, cookies);
    return sendPage(
      reply,
      messagePage({
        title: 'You have been signed out',
        message: 'You are signed out of Gatehouse and the services you opened with it.',
        user: null,
        csrfToken: request.csrfToken(),
        action: { href: '/login', label: 'Sign in again' },
      }),
    );
  });

  app.get('/register', async (request, reply) => {
    if (config.registration !== 'open') {
      return sendPage(
        reply,
        registrationClosedPage({ csrfToken: request.csrfToken(), mode: config.registration }),
        403,
      );
    }
    return sendPage(reply, registerPage({ csrfToken: request.csrfToken() }));
  });

  app.post('/register', csrf, async (request, reply) => {
    if (config.registration !== 'open') {
      return sendPage(
        reply,
        registrationClosedPage({ csrfToken: request.csrfToken(), mode: config.registration }),
        403,
      );
    }
    const verdict = await gh.throttle.hit('register', clientAddress(request), 10, 60 * 60_000);
    if (!verdict.allowed)
      throw new HttpError('RATE_LIMITED', { retryAfterSeconds: verdict.retryAfterSeconds });
    const { user, values, errors } = await registerFromForm(request, {});
    if (!user)
      return sendPage(
        reply,
        registerPage({ csrfToken: request.csrfToken(), values, errors: errors! }),
        400,
      );
    return finish(request, reply, user.id);
  });

  // The one-time link printed at first start: creates the first administrator.
  const setupPage = (request: FastifyRequest, token: string, extra: object = {}) =>
    registerPage({
      csrfToken: request.csrfToken(),
      title: 'Create the first administrator',
      intro:
        'Gatehouse has no accounts yet. The account you create here can manage everything else.',
      action: `/setup/${encodeURIComponent(token)}`,
      ...extra,
    });

  async function setupLinkLive(token: string): Promise<boolean> {
    return (
      !(await gh.accounts.hasAdmin()) && (await gh.oneTimeTokens.peek('setup', token)) !== null
    );
  }

  app.get('/setup/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    if (!(await setupLinkLive(token))) throw new HttpError('LINK_INVALID');
    return sendPage(reply, setupPage(request, token));
  });

  app.post('/setup/:token', csrf, async (request, reply) => {
    const { token } = request.params as { token: string };
    if (!(await setupLinkLive(token))) throw new HttpError('LINK_INVALID');
    const verdict = await gh.throttle.hit('setup', clientAddress(request), 20, 60 * 60_000);
    if (!verdict.allowed)
      throw new HttpError('RATE_LIMITED', { retryAfterSeconds: verdict.retryAfterSeconds });
    // Check the form before using the link up, so a typo does not burn it.
    const password = formField(request.body, 'password');
    try {
      checkNewPassword(password, formField(request.body, 'password_confirm'));
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      const values = {
        username: formField(request.body, 'username'),
        email: formField(request.body, 'email'),
        name: formField(request.body, 'name'),
      };
      return sendPage(
        reply,
        setupPage(request, token, { values, errors: { [err.field ?? 'form']: err.message } }),
        400,
      );
    }
    if (!(await gh.oneTimeTokens.consume('setup', token))) throw new HttpError('LINK_INVALID');
    const { user, values, errors } = await registerFromForm(
      request,
      { admin: true, emailVerified: true },
      { firstAdmin: true },
    );
    if (!user) {
      // The link is used up but no account exists: issue a fresh link on this page.
      const fresh = await gh.oneTimeTokens.issue('setup', { ttlMs: 24 * 60 * 60_000 });
      return sendPage(reply, setupPage(request, fresh, { values, errors: errors! }), 400);
    }
    return finish(request, reply, user.id);
  });

  // One-time set-password links (`gatehouse user create` without --password-stdin).
  async function resetLink(token: string) {
    const row = await gh.oneTimeTokens.peek('rst', token);
    const user = row?.userId ? await gh.accounts.findById(row.userId) : null;
    if (!row || !user || user.disabled) throw new HttpError('LINK_INVALID');
    return user;
  }

  app.get('/reset/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    const user = await resetLink(token);
    return sendPage(
      reply,
      setPasswordPage({
        csrfToken: request.csrfToken(),
        action: `/reset/${encodeURIComponent(token)}`,
        username: user.username,
      }),
    );
  });

  app.post('/reset/:token', csrf, async (request, reply) => {
    const { token } = request.params as { token: string };
    const user = await resetLink(token);
    const password = formField(request.body, 'password');
    try {
      checkNewPassword(password, formField(request.body, 'password_confirm'));
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      const page = setPasswordPage({
        csrfToken: request.csrfToken(),
        action: `/reset/${encodeURIComponent(token)}`,
        username: user.username,
        errors: { [err.field ?? 'form']: err.message },
      });
      return sendPage(reply, page, 400);
    }
    if (!(await gh.oneTimeTokens.consume('rst', token))) throw new HttpError('LINK_INVALID');
    await gh.accounts.setPassword(user.id, password, { ip: clientAddress(request) });
    // Whoever knew the old password is signed out everywhere (part of the reset, unrecorded).
    await gh.sessions.revokeAllForUser(user.id);
    return finish(request, reply, user.id);
  });
}
