// The signed-in member: profile, sessions and personal API tokens.

import { z } from 'zod';
import { userJson } from '../../../accounts/json.ts';
import { expiresAtFrom, MAX_SCOPES } from '../../../apitokens/apitokens.ts';
import { apiTokenJson } from '../../../apitokens/json.ts';
import { sessionJson } from '../../../sessions/json.ts';
import { HttpError } from '../../errors.ts';
import { apiActor } from '../actor.ts';
import { defineRoute } from '../define.ts';
import {
  byCreation,
  connectedServiceJson,
  connectedServiceSchema,
  sessionSchema,
  tokenSchema,
  userSchema,
} from '../json.ts';
import { pageOf, pageQuery, paginateList } from '../pagination.ts';
import { ACCOUNT_READ, ACCOUNT_WRITE } from '../scopes.ts';

const idParams = z.strictObject({ id: z.uuid() });

export const getMe = defineRoute({
  id: 'getMe',
  method: 'GET',
  path: '/api/v1/me',
  summary: 'The signed-in member',
  description: 'Answers for any valid session or API token, whatever its scopes: "who am I".',
  tags: ['me'],
  scope: null,
  response: userSchema,
  async handler({ user }) {
    return userJson(user);
  },
});

export const updateMe = defineRoute({
  id: 'updateMe',
  method: 'PATCH',
  path: '/api/v1/me',
  summary: "Change the member's profile",
  description: 'Fields left out are unchanged. A new email address is unverified.',
  tags: ['me'],
  scope: ACCOUNT_WRITE,
  body: z.strictObject({
    name: z.string().max(200).nullable().optional(),
    email: z.string().max(320).optional(),
    picture: z.string().max(2000).nullable().optional().describe('An https:// image URL.'),
  }),
  response: userSchema,
  errors: { 409: 'The email address belongs to another account.' },
  async handler({ gh, user, body, address }) {
    const updated = await gh.accounts.updateProfile(
      user.id,
      { name: body.name, email: body.email, pictureUrl: body.picture },
      apiActor({ user, address }),
    );
    return userJson(updated);
  },
});

export const listMySessions = defineRoute({
  id: 'listMySessions',
  method: 'GET',
  path: '/api/v1/me/sessions',
  summary: "The member's signed-in sessions",
  tags: ['me'],
  scope: ACCOUNT_READ,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(sessionSchema),
  async handler({ gh, user, query, auth }) {
    const current = auth.kind === 'session' ? auth.sessionId : null;
    const page = paginateList(await gh.sessions.listForUser(user.id), query, byCreation);
    return { items: page.items.map((s) => sessionJson(s, current)), next_cursor: page.next_cursor };
  },
});

export const revokeMySession = defineRoute({
  id: 'revokeMySession',
  method: 'DELETE',
  path: '/api/v1/me/sessions/{id}',
  summary: 'Sign out one of the member’s sessions',
  tags: ['me'],
  scope: ACCOUNT_WRITE,
  params: idParams,
  async handler({ gh, user, params, address }) {
    // Someone else's session id answers exactly like an unknown one.
    if (!(await gh.sessions.revokeOne(apiActor({ user, address }), user.id, params.id)))
      throw new HttpError('NOT_FOUND', { message: 'There is no such session.' });
  },
});

export const listMyTokens = defineRoute({
  id: 'listMyTokens',
  method: 'GET',
  path: '/api/v1/me/tokens',
  summary: "The member's API tokens",
  description: 'Never their secrets, which are shown once at creation.',
  tags: ['me'],
  scope: ACCOUNT_READ,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(tokenSchema),
  async handler({ gh, user, query }) {
    const page = paginateList(await gh.apiTokens.listForUser(user.id), query, byCreation);
    return { items: page.items.map(apiTokenJson), next_cursor: page.next_cursor };
  },
});

export const createMyToken = defineRoute({
  id: 'createMyToken',
  method: 'POST',
  path: '/api/v1/me/tokens',
  summary: 'Create an API token',
  description:
    'Returns the token once; only its hash is kept. Scopes must be permissions the member holds (account:read and account:write are held by every member). A request made with an API token can only create tokens with a subset of its own scopes. Without `expires_in` (or with null) the token never expires and the response carries a warning.',
  tags: ['me'],
  scope: ACCOUNT_WRITE,
  idempotent: true,
  body: z.strictObject({
    name: z.string().min(1).max(100),
    scopes: z.array(z.string().max(100)).min(1).max(MAX_SCOPES),
    expires_in: z
      .string()
      .max(20)
      .nullable()
      .optional()
      .describe('A duration such as 30d, 12h or 2w; null or absent: never.'),
  }),
  status: 201,
  response: tokenSchema.extend({
    token: z.string().describe('gth_api_…: send as "Authorization: Bearer <token>". Shown once.'),
    warnings: z.array(z.string()),
  }),
  errors: {
    403: 'A scope is not held by the member (TOKEN_SCOPE_NOT_HELD), or not by the token making the request (INSUFFICIENT_SCOPE).',
    409: 'The member has the most tokens allowed, or the Idempotency-Key is in use.',
  },
  async handler({ gh, user, body, auth, address }) {
    if (auth.kind === 'token') {
      const wider = body.scopes.filter((s) => !auth.scopes.includes(s));
      if (wider.length > 0)
        throw new HttpError('INSUFFICIENT_SCOPE', {
          message: `A token can only create tokens with scopes it carries itself; not carried: ${wider.slice(0, 5).join(', ')}.`,
        });
    }
    const { token, info, warnings } = await gh.apiTokens.create(
      user.id,
      {
        name: body.name,
        scopes: body.scopes,
        expiresAt: expiresAtFrom(body.expires_in, gh.now()),
      },
      apiActor({ user, address }),
    );
    return { ...apiTokenJson(info), token, warnings };
  },
});

export const revokeMyToken = defineRoute({
  id: 'revokeMyToken',
  method: 'DELETE',
  path: '/api/v1/me/tokens/{id}',
  summary: 'Revoke one of the member’s API tokens',
  description: 'It stops working at once on every instance.',
  tags: ['me'],
  scope: ACCOUNT_WRITE,
  params: idParams,
  async handler({ gh, user, params, address }) {
    if (!(await gh.apiTokens.revoke(params.id, { userId: user.id }, apiActor({ user, address }))))
      throw new HttpError('NOT_FOUND', { message: 'There is no such token.' });
  },
});

export const listMyServices = defineRoute({
  id: 'listMyServices',
  method: 'GET',
  path: '/api/v1/me/services',
  summary: 'Services the member allowed to use their account',
  description:
    "The answers remembered from the consent page. First-party clients never ask and are not listed. Paged by the time of the member's answer.",
  tags: ['me'],
  scope: ACCOUNT_READ,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(connectedServiceSchema),
  async handler({ request, user, query }) {
    const services = await request.server.oidc.connected.list(user.id);
    const page = paginateList(services, query, (s) => [s.allowedAt.getTime(), s.clientId]);
    return { items: page.items.map(connectedServiceJson), next_cursor: page.next_cursor };
  },
});

export const revokeMyService = defineRoute({
  id: 'revokeMyService',
  method: 'DELETE',
  path: '/api/v1/me/services/{id}',
  summary: 'Take back a service’s access to the member’s account',
  description:
    'Forgets the consent and revokes the grants and tokens the member gave the service; a service registered for back-channel logout is told to end the session. Its next sign-in asks again.',
  tags: ['me'],
  scope: ACCOUNT_WRITE,
  params: idParams,
  async handler({ request, user, params, address }) {
    const { connected } = request.server.oidc;
    if (!(await connected.disconnect(user.id, params.id, { ip: address, via: 'api' }))) {
      throw new HttpError('NOT_FOUND', {
        message: 'The member has not allowed that service, or its access was already removed.',
      });
    }
  },
});

export const meRoutes = [
  getMe,
  updateMe,
  listMySessions,
  revokeMySession,
  listMyTokens,
  createMyToken,
  revokeMyToken,
  listMyServices,
  revokeMyService,
];
