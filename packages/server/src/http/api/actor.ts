// Who acts through the JSON API, for the services' audit entries: the member the session or
// token stands for, at the request's address.

import type { Actor } from '../../audit/audit.ts';

export function apiActor(ctx: {
  user: { id: string };
  address: string | null;
}): Actor & { userId: string } {
  return { userId: ctx.user.id, ip: ctx.address, via: 'api' };
}
