// Adapter for plain `node:http` (and anything exposing IncomingMessage / ServerResponse).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatehouseClient } from '../client.ts';
import { type HttpExchange, serializeCookie } from '../exchange.ts';
import { applyGuard, type GuardResult, type GuardRule, handleAuthRoute } from '../guards.ts';

/**
 * The {@link HttpExchange} of a `node:http` request.
 *
 * @example
 * ```ts
 * const user = await gatehouse.authenticate(nodeExchange(req, res));
 * ```
 */
export function nodeExchange(req: IncomingMessage, res: ServerResponse): HttpExchange {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    setCookie: (name, value, options) =>
      res.appendHeader('set-cookie', serializeCookie(name, value, options)),
    clientAddress: () => req.socket.remoteAddress,
    redirect: (location) => {
      res.writeHead(303, { location, 'cache-control': 'no-store' }).end();
    },
    sendHtml: (status, html) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    },
    sendJson: (status, body) => {
      res
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify(body));
    },
  };
}

/**
 * Guards for a `node:http` server.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createGatehouseClient, requireLogin } from 'gatehouse-client';
 * import { nodeGatehouse } from 'gatehouse-client/node';
 *
 * const gate = nodeGatehouse(createGatehouseClient({ issuer, clientId, clientSecret }));
 * createServer(async (req, res) => {
 *   if (await gate.handleAuthRoute(req, res)) return;
 *   const result = await gate.check(req, res, requireLogin());
 *   if (!result.ok) return; // answered with 401/403 or a redirect
 *   res.end(`Hello ${result.user?.username}`);
 * }).listen(3000);
 * ```
 */
export function nodeGatehouse(client: GatehouseClient) {
  return {
    client,
    /** Checks the rule; on failure the response is sent and `{ ok: false }` returned. */
    check(req: IncomingMessage, res: ServerResponse, rule: GuardRule<IncomingMessage>) {
      return applyGuard(client, nodeExchange(req, res), rule, req) as Promise<GuardResult>;
    },
    /** Answers the sign-in paths; true when it did. */
    handleAuthRoute(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
      return handleAuthRoute(client, nodeExchange(req, res));
    },
  };
}
