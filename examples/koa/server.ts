// A Koa service protected by Gatehouse: a page greeting the member, a page for the workshop
// group only, and a JSON API with one permission per route.
// Run: GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… node examples/koa/server.ts

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { koaGatehouse } from 'gatehouse-client/koa';
import Koa, { type Middleware } from 'koa';
import {
  type ExampleOptions,
  envOptions,
  exampleClient,
  homePage,
  READ,
  type RunningExample,
  WORKSHOP,
  WRITE,
  workshopPage,
} from '../shared/example.ts';

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const gatehouse = exampleClient(options);
  const gate = koaGatehouse(gatehouse);

  // Koa has no router of its own: a tiny table of method + path → guard, handler.
  const routes: Record<string, [Middleware, Middleware]> = {
    'GET /': [
      gate.optionalLogin(),
      (ctx) => {
        ctx.type = 'html';
        ctx.body = homePage(ctx.state.user);
      },
    ],
    'GET /workshop': [
      gate.requireAccess(WORKSHOP),
      (ctx) => {
        ctx.type = 'html';
        ctx.body = workshopPage(ctx.state.user);
      },
    ],
    'GET /api/me': [
      gate.requireLogin(),
      (ctx) => {
        ctx.body = ctx.state.user;
      },
    ],
    'GET /api/uploads': [
      gate.requirePermission(READ),
      (ctx) => {
        ctx.body = { uploads: [] };
      },
    ],
    'POST /api/uploads': [
      gate.requirePermission(WRITE),
      (ctx) => {
        ctx.status = 201;
        ctx.body = { created: true, owner: ctx.state.user.id };
      },
    ],
  };

  const app = new Koa();
  app.use(gate.routes()); // /auth/login, /auth/callback, /auth/logout
  app.use(async (ctx, next) => {
    const route = routes[`${ctx.method} ${ctx.path}`];
    if (!route) return next();
    const [guard, handler] = route;
    await guard(ctx, () => handler(ctx, next));
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(options.port, host, () => resolve(s));
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    gatehouse,
    async close() {
      gatehouse.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.main) console.log(`listening on ${(await start(envOptions(3004))).url}`);
