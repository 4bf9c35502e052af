// The JSON API's first route: the signed-in member. The API issue extends /api/v1.

import type { FastifyInstance } from 'fastify';
import type { User } from '../../accounts/accounts.ts';

const userSchema = {
  type: 'object',
  required: ['id', 'username', 'name', 'email', 'email_verified', 'picture', 'is_admin'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    username: { type: 'string' },
    name: { type: ['string', 'null'] },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    picture: { type: ['string', 'null'] },
    is_admin: { type: 'boolean' },
  },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export function userJson(user: User) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    email_verified: user.emailVerified,
    picture: user.pictureUrl,
    is_admin: user.isAdmin,
  };
}

export const OPENAPI_PATHS = {
  '/api/v1/me': {
    get: {
      summary: 'The signed-in member',
      security: [{ session: [] }],
      responses: {
        200: { description: 'The member', content: { 'application/json': { schema: userSchema } } },
        401: {
          description: 'Not signed in',
          content: { 'application/json': { schema: errorSchema } },
        },
      },
    },
  },
};

export async function meApi(app: FastifyInstance, opts: { sessionCookie: string }) {
  app.get(
    '/api/v1/me',
    { preHandler: app.requireApiUser, schema: { response: { 200: userSchema, 401: errorSchema } } },
    async (request) => userJson(request.user!),
  );

  app.get('/api/v1/openapi.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return {
      openapi: '3.1.0',
      info: { title: 'Gatehouse API', version: '1' },
      components: {
        securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: opts.sessionCookie } },
      },
      paths: OPENAPI_PATHS,
    };
  });
}
