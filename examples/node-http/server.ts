// A plain node:http service protected by Gatehouse: a page greeting the member, a page for the
// workshop group only, and a JSON API with one permission per route.
// Run: GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… node examples/node-http/server.ts

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  type GatehouseUser,
  type GuardRule,
  optionalLogin,
  requireAccess,
  requireLogin,
  requirePermission,
} from 'gatehouse-client';
import { nodeGatehouse } from 'gatehouse-client/node';
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

type Handler = (res: ServerResponse, user: GatehouseUser | null) => void;

const html = (res: ServerResponse, body: string) =>
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const routes: Record<string, [GuardRule<IncomingMessage>, Handler]> = {
  'GET /': [optionalLogin(), (res, user) => html(res, homePage(user))],
  'GET /workshop': [requireAccess(WORKSHOP), (res, user) => html(res, workshopPage(user!))],
  'GET /api/me': [requireLogin(), (res, user) => json(res, 200, user)],
  'GET /api/uploads': [requirePermission(READ), (res) => json(res, 200, { uploads: [] })],
  'POST /api/uploads': [
    requirePermission(WRITE),
    (res, user) => json(res, 201, { created: true, owner: user!.id }),
  ],
};

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const gatehouse = exampleClient(options);
  const gate = nodeGatehouse(gatehouse);

  const server = createServer(async (req, res) => {
    try {
      if (await gate.handleAuthRoute(req, res)) return;
      const route = routes[`${req.method} ${(req.url ?? '/').split('?')[0]}`];
      if (!route) return json(res, 404, { error: { code: 'not_found', message: 'Not found.' } });
      const result = await gate.check(req, res, route[0]);
      if (result.ok) route[1](res, result.user);
    } catch {
      if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: 'Failed.' } });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, host, resolve));
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

if (import.meta.main) console.log(`listening on ${(await start(envOptions(3005))).url}`);
