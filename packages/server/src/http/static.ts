// The stylesheet and icon, read once at start and served with an ETag.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, string> = {
  'gatehouse.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

export async function staticRoutes(app: FastifyInstance) {
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./static/${name}`, import.meta.url));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    app.get(`/static/${name}`, async (request, reply) => {
      reply.header('etag', etag).header('cache-control', 'public, max-age=3600');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(body);
    });
  }
  app.get('/favicon.ico', async (_request, reply) => reply.redirect('/static/favicon.svg', 301));
}
