// Adapter for Hono. Guards are middleware; the member is `c.get('user')`.

import type { Context, MiddlewareHandler, Next } from 'hono';
import type { GatehouseClient } from '../client.ts';
import { type HttpExchange, serializeCookie } from '../exchange.ts';
import { applyGuard, bindGuards, type GuardRule, handleAuthRoute } from '../guards.ts';
import type { GatehouseUser } from '../user.ts';

/**
 * Variables the guards set on the Hono context.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: GatehouseVariables }>();
 * app.get('/', gate.requireLogin(), (c) => c.text(c.get('user')!.username));
 * ```
 */
export type GatehouseVariables = { user: GatehouseUser | null };

// Hono handlers return their response, so the exchange keeps the one the SDK decided on.
function exchange(c: Context): HttpExchange & { response: Response | null } {
  const url = new URL(c.req.url);
  const ex = {
    response: null as Response | null,
    method: c.req.method,
    url: url.pathname + url.search,
    header: (name: string) => c.req.header(name),
    setCookie: (name: string, value: string, options: Parameters<HttpExchange['setCookie']>[2]) =>
      c.header('set-cookie', serializeCookie(name, value, options), { append: true }),
    clientAddress: () =>
      (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming
        ?.socket?.remoteAddress,
    redirect: (location: string) => {
      c.header('cache-control', 'no-store');
      ex.response = c.redirect(location, 303);
    },
    sendJson: (status: number, body: unknown) => {
      ex.response = c.json(body, status as 400);
    },
    sendHtml: (status: number, html: string) => {
      ex.response = c.html(html, status as 400);
    },
  };
  return ex;
}

/**
 * Hono middleware for a Gatehouse client.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { honoGatehouse, type GatehouseVariables } from 'gatehouse-client/hono';
 *
 * const gate = honoGatehouse(gatehouse);
 * const app = new Hono<{ Variables: GatehouseVariables }>();
 * app.use(gate.routes());
 * app.get('/', gate.requireLogin(), (c) => c.text(`Hello ${c.get('user')!.name}`));
 * ```
 */
export function honoGatehouse(client: GatehouseClient) {
  function guard(rule: GuardRule<Context>): MiddlewareHandler {
    return async (c: Context, next: Next) => {
      const ex = exchange(c);
      const result = await applyGuard(client, ex, rule, c);
      if (!result.ok) return ex.response ?? c.body(null, 500);
      c.set('user', result.user);
      await next();
    };
  }
  return {
    client,
    ...bindGuards(guard),
    /** Middleware answering the sign-in paths; passes every other request on. */
    routes(): MiddlewareHandler {
      return async (c, next) => {
        const ex = exchange(c);
        if (await handleAuthRoute(client, ex)) return ex.response ?? c.body(null, 500);
        await next();
      };
    },
  };
}
