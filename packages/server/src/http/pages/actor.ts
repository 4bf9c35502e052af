// Who acts on the access pages, for the domain's rights checks and its audit entries: the
// signed-in member, at the address the request came from.

import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../access/types.ts';
import { clientAddress } from '../client-address.ts';

export function actorOf(request: FastifyRequest): Actor & { userId: string } {
  return { userId: request.user!.id, ip: clientAddress(request) };
}
