// /healthz: the process answers. /readyz: it can serve (database and shared store reachable),
// for load balancers and orchestrators to route by.

import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../gatehouse.ts';

export async function healthRoutes(app: FastifyInstance, opts: { gh: Gatehouse }) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const { database, store } = await opts.gh.ready();
    const ok = database && store;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      database: database ? 'ok' : 'unreachable',
      store: store ? 'ok' : 'unreachable',
    });
  });
}
