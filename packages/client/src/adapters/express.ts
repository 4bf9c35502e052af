// Adapter for Express (4 and 5). Guards are middleware; the member is on `req.user`.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { GatehouseClient } from '../client.ts';
import { type HttpExchange, serializeCookie } from '../exchange.ts';
import { applyGuard, bindGuards, type GuardRule, handleAuthRoute } from '../guards.ts';
import type { GatehouseUser } from '../user.ts';

function exchange(req: Request, res: Response): HttpExchange {
  return {
    method: req.method,
    url: req.originalUrl ?? req.url,
    header: (name) => req.get(name),
    setCookie: (name, value, options) =>
      res.append('set-cookie', serializeCookie(name, value, options)),
    clientAddress: () => req.ip,
    redirect: (location) => res.set('cache-control', 'no-store').redirect(303, location),
    sendJson: (status, body) => void res.status(status).json(body),
    sendHtml: (status, html) => void res.status(status).type('html').send(html),
  };
}

/**
 * The member a guard let through (null for an anonymous `optionalLogin`).
 *
 * @example
 * ```ts
 * app.get('/', gate.optionalLogin(), (req, res) => res.send(userOf(req)?.name ?? 'guest'));
 * ```
 */
export function userOf(req: Request): GatehouseUser | null {
  return ((req as unknown as { user?: GatehouseUser | null }).user ?? null) as GatehouseUser | null;
}

/**
 * Express middleware for a Gatehouse client.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createGatehouseClient } from 'gatehouse-client';
 * import { expressGatehouse, userOf } from 'gatehouse-client/express';
 *
 * const gate = expressGatehouse(createGatehouseClient({ issuer, clientId, clientSecret, session }));
 * const app = express();
 * app.use(gate.routes()); // /auth/login, /auth/callback, /auth/logout
 * app.get('/', gate.requireLogin(), (req, res) => res.send(`Hello ${userOf(req)!.name}`));
 * app.post('/uploads', gate.requirePermission('upload:write'), upload);
 * ```
 */
export function expressGatehouse(client: GatehouseClient) {
  function guard(rule: GuardRule<Request>): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      applyGuard(client, exchange(req, res), rule, req).then((result) => {
        if (!result.ok) return;
        (req as unknown as { user: GatehouseUser | null }).user = result.user;
        next();
      }, next);
    };
  }
  return {
    client,
    ...bindGuards(guard),
    /** Middleware answering the sign-in paths; passes every other request on. */
    routes(): RequestHandler {
      return (req, res, next) => {
        handleAuthRoute(client, exchange(req, res)).then((done) => {
          if (!done) next();
        }, next);
      };
    },
  };
}
