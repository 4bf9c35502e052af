import type { FastifyRequest } from 'fastify';

/**
 * The client's address for rate limits, sessions and the audit log. On a unix socket there is
 * no peer address: the proxy in front tells us through X-Forwarded-For (trusted, because only
 * local processes reach the socket), and without it every client shares one bucket, "local".
 */
export function clientAddress(request: FastifyRequest): string {
  return request.ip || 'local';
}
