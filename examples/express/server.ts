// An Express service protected by Gatehouse: a page greeting the member, a page for the
// workshop group only, and a JSON API with one permission per route.
// Run: GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… node examples/express/server.ts

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressGatehouse, userOf } from 'gatehouse-client/express';
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
  const gate = expressGatehouse(gatehouse);
  const app = express();
  app.disable('x-powered-by');
  app.use(gate.routes()); // /auth/login, /auth/callback, /auth/logout

  app.get('/', gate.optionalLogin(), (req, res) => {
    res.type('html').send(homePage(userOf(req)));
  });
  app.get('/workshop', gate.requireAccess(WORKSHOP), (req, res) => {
    res.type('html').send(workshopPage(userOf(req)!));
  });
  app.get('/api/me', gate.requireLogin(), (req, res) => {
    res.json(userOf(req));
  });
  app.get('/api/uploads', gate.requirePermission(READ), (_req, res) => {
    res.json({ uploads: [] });
  });
  app.post('/api/uploads', gate.requirePermission(WRITE), (req, res) => {
    res.status(201).json({ created: true, owner: userOf(req)!.id });
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

if (import.meta.main) console.log(`listening on ${(await start(envOptions(3001))).url}`);
