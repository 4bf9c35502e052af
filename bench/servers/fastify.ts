// A second reference point: an empty Fastify app (the framework Gatehouse is built on, same
// version, no plugins, no logger) answering a small JSON object. The gap between bare node:http
// and this is the framework's cost; the gap between this and Gatehouse is Gatehouse's own.
// PORT (required) and HOST (default 127.0.0.1) say where to listen.

import Fastify from 'fastify';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('fastify: set PORT\n');
  process.exit(2);
}

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
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// Exit if the benchmark that started us is gone (killed before it could stop us).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
