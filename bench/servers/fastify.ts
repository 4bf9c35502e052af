// A second reference point: an empty Fastify app (the framework Gatehouse is built on, same
// version, no plugins, no logger) answering a small JSON object. The gap between bare node:http
// and this is the framework's cost; the gap between this and Gatehouse is Gatehouse's own.
// PORT (required) and HOST (default 127.0.0.1) say where to listen.

import Fastify from 'fastify';
import { listenAddress, stopWith } from './child.ts';

const { port, host } = listenAddress('fastify');

const app = Fastify({ logger: false });
app.get(
  '/',
  {
    schema: {
      response: {
        200: { type: 'object', properties: { status: { type: 'string' } } },
      },
    },
  },
  async () => ({ status: 'ok' }),
);
await app.listen({ port, host });

stopWith(() => app.close());
