// Adapter for Fastify. Guards are `preHandler` hooks; the member is on `request.user`.

import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import type { GatehouseClient } from '../client.ts';
import { type HttpExchange, serializeCookie } from '../exchange.ts';
import { applyGuard, bindGuards, type GuardRule, handleAuthRoute } from '../guards.ts';
import type { GatehouseUser } from '../user.ts';

function exchange(request: FastifyRequest, reply: FastifyReply): HttpExchange {
  return {
    method: request.method,
    url: request.url,
    header: (name) => {
      const v = request.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    // Fastify appends repeated set-cookie headers.
    setCookie: (name, value, options) =>
      void reply.header('set-cookie', serializeCookie(name, value, options)),
    clientAddress: () => request.ip,
    redirect: async (location) => {
      await reply.header('cache-control', 'no-store').redirect(location, 303);
    },
    sendJson: async (status, body) => {
      await reply.code(status).type('application/json; charset=utf-8').send(body);
    },
    sendHtml: async (status, html) => {
      await reply.code(status).type('text/html; charset=utf-8').send(html);
    },
  };
}

/**
 * The member a guard let through (null for an anonymous `optionalLogin`).
 *
 * @example
 * ```ts
 * app.get('/me', { preHandler: gate.requireLogin() }, async (request) => userOf(request));
 * ```
 */
export function userOf(request: FastifyRequest): GatehouseUser | null {
  return (request as unknown as { user?: GatehouseUser | null }).user ?? null;
}

/**
 * Fastify hooks and routes for a Gatehouse client.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyGatehouse, userOf } from 'gatehouse-client/fastify';
 *
 * const gate = fastifyGatehouse(gatehouse);
 * const app = Fastify();
 * await app.register(gate.plugin); // sign-in routes, request.user
 * app.get('/api/files', { preHandler: gate.requirePermission('upload:read') }, async (req) => ({
 *   owner: userOf(req)!.id,
 * }));
 * ```
 */
export function fastifyGatehouse(client: GatehouseClient) {
  function guard(rule: GuardRule<FastifyRequest>): preHandlerAsyncHookHandler {
    return async function gatehouseGuard(request, reply) {
      const result = await applyGuard(client, exchange(request, reply), rule, request);
      if (!result.ok) return reply;
      (request as unknown as { user: GatehouseUser | null }).user = result.user;
    };
  }

  async function plugin(app: FastifyInstance) {
    if (!app.hasRequestDecorator('user')) app.decorateRequest('user', null);
    const paths = client.sessionPaths;
    if (!paths) return;
    const answer = async (request: FastifyRequest, reply: FastifyReply) => {
      await handleAuthRoute(client, exchange(request, reply));
      return reply;
    };
    app.get(paths.login, answer);
    app.get(paths.callback, answer);
    app.route({ method: ['GET', 'POST'], url: paths.logout, handler: answer });
  }
  // Like fastify-plugin: the decoration and routes belong to the parent app.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

  return {
    client,
    plugin,
    ...bindGuards(guard),
  };
}
