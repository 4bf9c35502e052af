// Adapter for Koa. Guards are middleware; the member is on `ctx.state.user`.

import type { Context, Middleware, Next } from 'koa';
import type { GatehouseClient } from '../client.ts';
import { type HttpExchange, serializeCookie } from '../exchange.ts';
import { applyGuard, bindGuards, type GuardRule, handleAuthRoute } from '../guards.ts';

function exchange(ctx: Context): HttpExchange {
  return {
    method: ctx.method,
    url: ctx.originalUrl ?? ctx.url,
    header: (name) => ctx.get(name) || undefined,
    setCookie: (name, value, options) =>
      ctx.append('set-cookie', serializeCookie(name, value, options)),
    clientAddress: () => ctx.ip,
    redirect: (location) => {
      ctx.set('cache-control', 'no-store');
      ctx.redirect(location);
      ctx.status = 303;
    },
    sendJson: (status, body) => {
      ctx.status = status;
      ctx.body = body;
    },
    sendHtml: (status, html) => {
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = html;
    },
  };
}

/**
 * Koa middleware for a Gatehouse client.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { koaGatehouse } from 'gatehouse-client/koa';
 *
 * const gate = koaGatehouse(gatehouse);
 * const app = new Koa();
 * app.use(gate.routes());
 * app.use(gate.requireLogin());
 * app.use((ctx) => { ctx.body = `Hello ${ctx.state.user.name}`; });
 * ```
 */
export function koaGatehouse(client: GatehouseClient) {
  function guard(rule: GuardRule<Context>): Middleware {
    return async (ctx: Context, next: Next) => {
      const result = await applyGuard(client, exchange(ctx), rule, ctx);
      if (!result.ok) return;
      ctx.state.user = result.user;
      await next();
    };
  }
  return {
    client,
    ...bindGuards(guard),
    /** Middleware answering the sign-in paths; passes every other request on. */
    routes(): Middleware {
      return async (ctx, next) => {
        if (!(await handleAuthRoute(client, exchange(ctx)))) await next();
      };
    },
  };
}
