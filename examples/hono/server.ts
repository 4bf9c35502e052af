// A Hono service (on @hono/node-server) protected by Gatehouse: a page greeting the member, a
// page for the workshop group only, and a JSON API with one permission per route.
// Run: GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… node examples/hono/server.ts

import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { type GatehouseVariables, honoGatehouse } from 'gatehouse-client/hono';
import { Hono } from 'hono';
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
  const gate = honoGatehouse(gatehouse);
  const app = new Hono<{ Variables: GatehouseVariables }>();
  app.use(gate.routes()); // /auth/login, /auth/callback, /auth/logout

  app.get('/', gate.optionalLogin(), (c) => c.html(homePage(c.get('user'))));
  app.get('/workshop', gate.requireAccess(WORKSHOP), (c) => c.html(workshopPage(c.get('user')!)));
  app.get('/api/me', gate.requireLogin(), (c) => c.json(c.get('user')));
  app.get('/api/uploads', gate.requirePermission(READ), (c) => c.json({ uploads: [] }));
  app.post('/api/uploads', gate.requirePermission(WRITE), (c) =>
    c.json({ created: true, owner: c.get('user')!.id }, 201),
  );

  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: host }, () =>
      resolve(s as Server),
    ) as Server;
  });
  return {
    url: `http://${host}:${options.port}`,
    gatehouse,
    async close() {
      gatehouse.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.main) console.log(`listening on ${(await start(envOptions(3003))).url}`);
