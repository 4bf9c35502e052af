// The JSON API under /api/v1: registers every route definition behind one pipeline, read as a
// table of steps, each one reason to refuse:
//   credentials (bearer token or session) → rate limits → scope → CSRF for session writes →
//   content type → params, query, body against their schemas → idempotency → handler.
// The same definitions produce /api/v1/openapi.json.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AccessError } from '../../access/errors.ts';
import { ADMIN_PERMISSION } from '../../accounts/accounts.ts';
import { AccountError } from '../../accounts/errors.ts';
import { ApiTokenError } from '../../apitokens/errors.ts';
import { ClientError } from '../../clients/clients.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import { GATEHOUSE_AUDIENCE } from '../../principals/principals.ts';
import { clientAddress } from '../client-address.ts';
import { HttpError } from '../errors.ts';
import { type AnyApiRoute, API_BODY_LIMIT, type ApiAuth, fastifyPath } from './define.ts';
import { createIdempotency } from './idempotency.ts';
import { jsonSchema, OPENAPI_PATH, openApiDocument } from './openapi.ts';
import { type ApiLimits, createRateLimiter } from './rate-limit.ts';
import { isMemberScope } from './scopes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiAuth: ApiAuth | null;
  }
}

export interface ApiPluginOptions {
  gh: Gatehouse;
  routes: readonly AnyApiRoute[];
  sessionCookie: string;
  limits?: Partial<ApiLimits>;
  /** Check every response against its schema (tests): a mismatch is a 500. */
  validateResponses?: boolean;
}

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BEARER = /^Bearer +([^\s]+) *$/i;

function challenge(reply: FastifyReply, error?: string, scope?: string) {
  reply.header(
    'www-authenticate',
    `Bearer realm="gatehouse"${error ? `, error="${error}"` : ''}${scope ? `, scope="${scope}"` : ''}`,
  );
}

/** "body.scopes[1]: expected string, received number" — the first problem, naming the field. */
function describeIssue(where: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k.slice(0, 50)}"`).join(', ');
    return `${where}${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
  }
  return `${where}${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new HttpError('BAD_REQUEST', {
    message: `Invalid request: ${describeIssue(where, result.error.issues[0]!)}`,
  });
}

export async function apiPlugin(app: FastifyInstance, opts: ApiPluginOptions) {
  const { gh, routes } = opts;
  const onError = (err: unknown) => gh.logger.error({ err }, 'API rate limit store failed');
  const limiter = createRateLimiter({ kv: gh.stores.kv, limits: opts.limits, onError });
  const idempotency = createIdempotency({ kv: gh.stores.kv });
  const document = openApiDocument(routes, {
    issuer: gh.config.issuer,
    sessionCookie: opts.sessionCookie,
  });
  const documentJson = JSON.stringify(document);

  app.decorateRequest('apiAuth', null);

  // Domain refusals keep their own stable codes; everything else goes to the app's handler.
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof AccountError || err instanceof ApiTokenError || err instanceof ClientError)
      return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    if (err instanceof AccessError)
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message, ...err.details } });
    throw err;
  });

  function limited(retryAfter: number | null) {
    if (retryAfter !== null) throw new HttpError('RATE_LIMITED', { retryAfterSeconds: retryAfter });
  }

  /** May a session of this member use a route that asks for `scope`? */
  async function sessionHolds(request: FastifyRequest, scope: string): Promise<boolean> {
    const user = request.user!;
    if (isMemberScope(scope)) return true;
    if (scope === ADMIN_PERMISSION) return user.isAdmin;
    return (await gh.apiTokens.grantableScopes(user.id)).includes(scope);
  }

  async function authenticate(route: AnyApiRoute, request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    if (header !== undefined) {
      // A bearer token wins over a cookie: the caller is a script, whatever its cookie jar holds.
      request.principal = null;
      request.session = null;
      request.user = null;
      const address = clientAddress(request);
      const match = BEARER.exec(header);
      const found = match
        ? await gh.principals.fromBearer(match[1]!, GATEHOUSE_AUDIENCE, { address })
        : null;
      // Gatehouse's own audience takes API tokens only.
      const principal = found && !('refused' in found) && found.via === 'api_token' ? found : null;
      if (!principal) {
        limited(limiter.address(address));
        challenge(reply, match ? 'invalid_token' : 'invalid_request');
        throw new HttpError('UNAUTHENTICATED', {
          message: match
            ? 'The API token is invalid, expired or revoked.'
            : 'Send an API token as "Authorization: Bearer gth_api_…".',
        });
      }
      limited(limiter.token(principal.tokenId) ?? limiter.address(address));
      if (route.scope && !principal.scopes.includes(route.scope)) {
        challenge(reply, 'insufficient_scope', route.scope);
        throw new HttpError('INSUFFICIENT_SCOPE', {
          message: `This API token does not carry the "${route.scope}" scope this request needs.`,
        });
      }
      request.principal = principal;
      request.user = principal.user;
      request.apiAuth = { kind: 'token', tokenId: principal.tokenId, scopes: principal.scopes };
      return;
    }
    if (!request.user || !request.session) {
      limited(limiter.address(clientAddress(request)));
      throw new HttpError('UNAUTHENTICATED', {
        message: 'Sign in, or send an API token as "Authorization: Bearer gth_api_…".',
      });
    }
    if (route.scope && !(await sessionHolds(request, route.scope)))
      throw new HttpError('FORBIDDEN');
    if (WRITE.has(request.method)) {
      try {
        await app.checkCsrf(request, reply);
      } catch {
        throw new HttpError('CSRF_FAILED', {
          message:
            'Signed-in writes need the CSRF token in an X-CSRF-Token header (a read sent with "X-CSRF-Token: fetch" returns it), or use an API token.',
        });
      }
    }
    // A same-origin script asks for the token for its writes with `X-CSRF-Token: fetch` on a
    // read. Only when asked: minting one on every answer would cost every session request.
    if (request.headers['x-csrf-token'] === 'fetch' && !WRITE.has(request.method))
      reply.header('x-csrf-token', request.csrfToken());
    request.apiAuth = { kind: 'session', sessionId: request.session.id };
  }

  function checkContentType(route: AnyApiRoute, request: FastifyRequest) {
    if (route.body) {
      const type = request.headers['content-type'] ?? '';
      if (request.body !== undefined && !/^application\/json\s*(;|$)/i.test(type))
        throw new HttpError('UNSUPPORTED_MEDIA_TYPE', {
          message: 'Send the request body as JSON, with Content-Type: application/json.',
        });
    } else if (request.body !== undefined && request.body !== null && request.body !== '') {
      throw new HttpError('BAD_REQUEST', {
        message: 'Invalid request: body: this endpoint takes no request body.',
      });
    }
  }

  /** A route without a query schema takes no query parameters. */
  function refuseQuery(query: Record<string, unknown>) {
    for (const key in query) {
      throw new HttpError('BAD_REQUEST', {
        message: `Invalid request: query: unknown field "${key.slice(0, 50)}"`,
      });
    }
  }

  for (const route of routes) {
    app.route({
      method: route.method,
      url: fastifyPath(route.path),
      bodyLimit: route.bodyLimit ?? API_BODY_LIMIT,
      // The success body's JSON Schema compiles to a serializer (fast-json-stringify): faster
      // than JSON.stringify, and it drops any field the schema does not name.
      ...(route.response
        ? { schema: { response: { [route.status ?? 200]: jsonSchema(route.response, 'output') } } }
        : {}),
      onRequest: (request, reply) => authenticate(route, request, reply),
      handler: async (request, reply) => {
        checkContentType(route, request);
        const params = route.params ? parse(route.params, request.params, 'path') : undefined;
        const query = route.query ? parse(route.query, request.query, 'query') : undefined;
        if (!route.query) refuseQuery(request.query as Record<string, unknown>);
        if (route.body && request.body === undefined)
          throw new HttpError('BAD_REQUEST', {
            message: 'Invalid request: body: send a JSON object.',
          });
        const body = route.body ? parse(route.body, request.body, 'body') : undefined;
        const run = async () => {
          const result = await route.handler({
            gh,
            request,
            reply,
            user: request.user!,
            auth: request.apiAuth!,
            // Read when a handler asks (few do), not on every request.
            get address() {
              return clientAddress(request);
            },
            params,
            query,
            body,
          });
          if (!route.response) return { status: 204, body: undefined };
          if (opts.validateResponses) parse(route.response, result, 'response');
          return { status: route.status ?? 200, body: result };
        };
        const key = route.idempotent ? request.headers['idempotency-key'] : undefined;
        if (typeof key === 'string') {
          const path = request.url.split('?')[0]!;
          const scope = { userId: request.user!.id, method: route.method, path, key };
          const replay = await idempotency.run({ ...scope, body: request.body }, run);
          if (replay.replayed) reply.header('idempotent-replayed', 'true');
          reply.code(replay.status);
          return replay.status === 204 ? reply.send() : replay.body;
        }
        const response = await run();
        reply.code(response.status);
        return response.status === 204 ? reply.send() : response.body;
      },
    });
  }

  app.get(OPENAPI_PATH, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.type('application/json; charset=utf-8');
    return documentJson;
  });
}
