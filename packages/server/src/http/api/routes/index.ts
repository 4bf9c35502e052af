// Every route of the JSON API. Add a subsystem's routes here; tests cover each automatically
// (scopes, hostile input, the OpenAPI document).

import type { AnyApiRoute } from '../define.ts';
import { adminClientRoutes } from './admin-clients.ts';
import { adminUserRoutes } from './admin-users.ts';
import { groupRoutes } from './groups.ts';
import { invitationRoutes } from './invitations.ts';
import { meRoutes } from './me.ts';
import { roleRoutes } from './roles.ts';

export const API_ROUTES: readonly AnyApiRoute[] = [
  ...meRoutes,
  ...adminUserRoutes,
  ...adminClientRoutes,
  ...groupRoutes,
  ...invitationRoutes,
  ...roleRoutes,
];
