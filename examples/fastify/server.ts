// A Fastify service protected by Gatehouse: a page greeting the member, a page for the
// workshop group only, and a JSON API with one permission per route.
// Run: GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… node examples/fastify/server.ts

import Fastify from 'fastify';
import { fastifyGatehouse, userOf } from 'gatehouse-client/fastify';
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
  const gate = fastifyGatehouse(gatehouse);
  const app = Fastify();
  await app.register(gate.plugin); // /auth/login, /auth/callback, /auth/logout; request.user

  app.get('/', { preHandler: gate.optionalLogin() }, async (request, reply) =>
    reply.type('text/html').send(homePage(userOf(request))),
  );
  app.get('/workshop', { preHandler: gate.requireAccess(WORKSHOP) }, async (request, reply) =>
    reply.type('text/html').send(workshopPage(userOf(request)!)),
  );
  app.get('/api/me', { preHandler: gate.requireLogin() }, async (request) => userOf(request));
  app.get('/api/uploads', { preHandler: gate.requirePermission(READ) }, async () => ({
    uploads: [],
  }));
  app.post('/api/uploads', { preHandler: gate.requirePermission(WRITE) }, async (request, reply) =>
    reply.code(201).send({ created: true, owner: userOf(request)!.id }),
  );

  await app.listen({ port: options.port, host });
  return {
    url: `http://${host}:${options.port}`,
    gatehouse,
    async close() {
      gatehouse.close();
      await app.close();
    },
  };
}

if (import.meta.main) console.log(`listening on ${(await start(envOptions(3002))).url}`);
