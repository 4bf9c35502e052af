// The Fastify app: one encapsulated plugin per surface, shared decorations (session, CSRF,
// security headers) registered with fastify-plugin, and one error handler that turns every
// failure into a page or a JSON error without a stack trace.

import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { maskSecrets } from '../config/logger.ts';
import { HASHING_RETRY_AFTER_SECONDS, PasswordHashingBusyError } from '../crypto/passwords.ts';
import type { Gatehouse } from '../gatehouse.ts';
import type { Oidc } from '../oidc/oidc.ts';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../store/unavailable.ts';
import { eventsApi } from './api/events.ts';
import { apiPlugin } from './api/plugin.ts';
import { API_ROUTES } from './api/routes/index.ts';
import { clientAddress, proxyTrust } from './client-address.ts';
import { cookiePolicy } from './cookies.ts';
import { HTTP_ERRORS, HttpError, type HttpErrorCode } from './errors.ts';
import { createFastPath, type FastPath, requestLogLine } from './fast-path.ts';
import { sendPage } from './form.ts';
import { forwardAuthRoutes, WEBDAV_METHODS } from './forward-auth.ts';
import { healthRoutes } from './health.ts';
import { oidcRoutes, oidcSurface } from './oidc.ts';
import { accountPages } from './pages/account.ts';
import { adminPages } from './pages/admin.ts';
import { authPages } from './pages/auth.ts';
import { groupPages } from './pages/groups.ts';
import { invitationPages } from './pages/invitations.ts';
import { returnTargetChecker } from './return-to.ts';
import { securityHeaders, securityPlugin } from './security.ts';
import { sessionPlugin } from './session-plugin.ts';
import { staticRoutes } from './static.ts';
import { viewUser } from './view-user.ts';
import { messagePage } from './views/pages.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The OIDC subsystem (gh.oidc): the mounted provider and its published documents. */
    oidc: Oidc;
    /** The endpoints answered before Fastify's routing (see fast-path.ts). */
    fastPath: FastPath;
  }
}

/** Forms are small; anything bigger is refused before it is parsed. */
export const BODY_LIMIT = 64 * 1024;

function wantsJson(request: FastifyRequest): boolean {
  return (
    request.url.startsWith('/api/') ||
    request.url.startsWith('/auth/') ||
    !(request.headers.accept ?? '').includes('text/html')
  );
}

function codeFor(err: FastifyError): HttpErrorCode {
  if (err instanceof HttpError) return err.code;
  if (isStoreUnavailable(err)) return 'STORE_UNAVAILABLE';
  if (err instanceof PasswordHashingBusyError) return 'BUSY';
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'PAYLOAD_TOO_LARGE';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'UNSUPPORTED_MEDIA_TYPE';
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 404) return 'NOT_FOUND';
  if (status >= 400 && status < 500) return 'BAD_REQUEST';
  return 'INTERNAL';
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: HttpErrorCode,
  message?: string,
  retryAfter?: number | null,
) {
  const { status, title } = HTTP_ERRORS[code];
  const text = message ?? HTTP_ERRORS[code].message;
  if (retryAfter) reply.header('retry-after', String(retryAfter));
  if (wantsJson(request)) return reply.code(status).send({ error: { code, message: text } });
  // A store is down: a page read offers itself again. A form's answer cannot (its address
  // may take only POST, and no Referer is sent), so the message says to try again.
  const again =
    (code === 'STORE_UNAVAILABLE' || code === 'UNAVAILABLE' || code === 'BUSY') &&
    request.method === 'GET';
  return sendPage(
    reply,
    messagePage({
      title,
      message: text,
      status,
      user: viewUser(request.user),
      csrfToken: request.csrfToken(),
      action: again
        ? { href: request.url, label: 'Try again' }
        : { href: '/', label: 'Go to the home page' },
    }),
    status,
  );
}

export interface BuildAppOptions {
  /** Called for every route Fastify registers (tests compare them with the OpenAPI document). */
  onRoute?: (route: { method: string | string[]; url: string }) => void;
  /** Check every JSON API response against its schema; a mismatch is a 500 (tests). */
  validateResponses?: boolean;
}

export async function buildApp(
  gh: Gatehouse,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const { config } = gh;
  const cookies = cookiePolicy(config);
  const perRequestLogger = gh.logger.isLevelEnabled('info');
  const trust = proxyTrust(config);
  const fast = createFastPath({
    logger: perRequestLogger ? (gh.logger as Logger) : null,
    errorLogger: gh.logger as Logger,
    trust,
  });
  const app = Fastify({
    serverFactory: fast.serverFactory,
    loggerInstance: gh.logger as FastifyBaseLogger,
    // One line per request (below) instead of two, with secrets masked out of the URL.
    logController: new LogController({ disableRequestLogging: true }),
    // A child logger per request costs microseconds on the hot path; below info the request id
    // binding is not worth it, and the shared logger serves.
    childLoggerFactory: (logger, bindings, options) =>
      perRequestLogger ? logger.child(bindings, options) : logger,
    bodyLimit: BODY_LIMIT,
    trustProxy: trust,
    return503OnClosing: true,
    // A request id from the client is not trusted into our logs.
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
  });

  for (const method of WEBDAV_METHODS)
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });

  app.decorate('fastPath', fast);
  app.addHook('preClose', (done) => {
    fast.close();
    done();
  });

  if (options.onRoute) {
    const onRoute = options.onRoute;
    app.addHook('onRoute', (route) => onRoute({ method: route.method, url: route.url }));
  }
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await app.register(securityPlugin, { config, cookies });
  await app.register(sessionPlugin, { gh, cookies });

  if (gh.logger.isLevelEnabled('debug')) {
    app.addHook('onRequest', async (request) => {
      request.log.debug(
        { method: request.method, url: maskSecrets(request.url) },
        'incoming request',
      );
    });
  }
  // One line per request at info; when info is off, the hook is not even registered.
  if (perRequestLogger) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(
        requestLogLine(
          request.method,
          request.url,
          reply.statusCode,
          reply.elapsedTime,
          clientAddress(request),
        ),
        'request',
      );
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const code = codeFor(err);
    if (code === 'INTERNAL') request.log.error({ err }, 'request failed');
    // Expected while a store is down: one line with the reason, no stack.
    if (code === 'STORE_UNAVAILABLE')
      request.log.warn({ reason: err.message }, 'store unavailable');
    if (code === 'BUSY') request.log.warn({ reason: err.message }, 'password hashing busy');
    // Validation messages from JSON schemas are safe to show and help a caller fix the request.
    const message = err.validation
      ? `Invalid request: ${err.message}`
      : err instanceof HttpError
        ? err.message
        : undefined;
    const retryAfter =
      code === 'STORE_UNAVAILABLE'
        ? STORE_RETRY_AFTER_SECONDS
        : code === 'BUSY'
          ? HASHING_RETRY_AFTER_SECONDS
          : err instanceof HttpError
            ? err.retryAfterSeconds
            : null;
    return sendError(request, reply, code, message, retryAfter);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, 'NOT_FOUND'));

  await app.register(staticRoutes);
  await app.register(healthRoutes, { gh });
  // The provider, built from the current keys (once per instance; gh.close() stops it).
  const { oidc } = gh;
  await oidc.start(oidcSurface(gh, cookies));
  app.decorate('oidc', oidc);
  await app.register(authPages, { gh, cookies });
  await app.register(accountPages, { gh, connected: oidc.connected });
  await app.register(forwardAuthRoutes, {
    fast,
    trust,
    securityHeaders: securityHeaders(config),
    forwardAuth: gh.forwardAuth,
    cookies,
    safeToRedirect: returnTargetChecker(config.issuer, () => gh.forwardAuth.returnDomains()),
  });
  await app.register(oidcRoutes, { gh, fast });
  await app.register(apiPlugin, {
    gh,
    routes: API_ROUTES,
    sessionCookie: cookies.session,
    limits: gh.apiLimits,
    validateResponses: options.validateResponses === true,
  });
  // Revocation events for services, authenticated with their OIDC client credentials.
  await app.register(eventsApi, {
    events: gh.events,
    authenticateService: (request) => oidc.authenticateClient(request.headers.authorization),
    audienceOf: (userId, resources) => oidc.connected.audienceOf(userId, resources),
  });
  await app.register(groupPages, { gh });
  await app.register(invitationPages, { gh, cookies });
  await app.register(adminPages, { gh });
  return app;
}
