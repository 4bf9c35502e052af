// The OpenAPI 3.1 document at /api/v1/openapi.json, generated from the same route definitions
// and zod schemas that validate requests, so it describes exactly what is served.

import { z } from 'zod';
import { type AnyApiRoute, fastifyPath } from './define.ts';
import { EVENTS_OPENAPI_PATHS } from './events.ts';
import { SCOPES } from './scopes.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), without the `$schema` line. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const errorRef = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorRef } },
});

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input') as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function operation(route: AnyApiRoute) {
  const responses: Record<string, unknown> = {};
  if (route.response) {
    responses[String(route.status ?? 200)] = {
      description: route.summary,
      content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
    };
  } else {
    responses['204'] = { description: 'Done; no content.' };
  }
  const errors: Record<string, string> = {
    400: 'Invalid input; the message names the field.',
    401: 'No valid session or API token.',
    403: route.scope
      ? `The token lacks the \`${route.scope}\` scope, or the member may not do this.`
      : 'Not allowed.',
    ...(route.params ? { 404: 'Not found.' } : {}),
    ...(route.idempotent
      ? {
          409: 'A request with this Idempotency-Key is still running.',
          422: 'This Idempotency-Key was used with a different request.',
        }
      : {}),
    ...(route.body ? { 413: 'The body is too large.', 415: 'The body is not JSON.' } : {}),
    429: 'Too many requests; see Retry-After.',
    ...route.errors,
  };
  for (const [status, description] of Object.entries(errors))
    responses[status] = errorResponse(description);

  const headerParams = route.idempotent
    ? [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Any unique string (a UUID): a retry with the same key and body gets the first response again for 24 hours.',
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      ]
    : [];
  const params = [
    ...parameters(route.params, 'path'),
    ...parameters(route.query, 'query'),
    ...headerParams,
  ];
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    security: [{ session: [] }, { bearer: route.scope ? [route.scope] : [] }],
    'x-gatehouse-scope': route.scope,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

export function openApiDocument(
  routes: readonly AnyApiRoute[],
  options: { issuer: string; sessionCookie: string },
) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  Object.assign(paths, EVENTS_OPENAPI_PATHS);
  paths[OPENAPI_PATH] = {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      tags: ['meta'],
      security: [],
      responses: {
        200: {
          description: 'The OpenAPI 3.1 description of the Gatehouse API.',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
  };
  const tags = [...new Set(routes.flatMap((r) => r.tags)), 'meta'].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse API',
      version: '1',
      description: `Act for a member from scripts and services. Authenticate with a session cookie (writes need the CSRF token in an X-CSRF-Token header; a GET sent with "X-CSRF-Token: fetch" returns it in the same header) or with "Authorization: Bearer gth_api_…", a personal API token whose scopes must include the scope each operation names.\n\nScopes:\n${Object.entries(
        SCOPES,
      )
        .map(([scope, what]) => `- \`${scope}\`: ${what}`)
        .join(
          '\n',
        )}\n\nErrors are {"error": {"code", "message"}} with stable codes. Lists take ?limit= and ?cursor= and answer {items, next_cursor}.`,
    },
    servers: [{ url: options.issuer }],
    tags,
    components: {
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: options.sessionCookie,
          description: 'The browser session. Writes also need the X-CSRF-Token header.',
        },
        clientBasic: {
          type: 'http',
          scheme: 'basic',
          description: "A service's OIDC client id and secret.",
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'gth_api_<32 hex><49 base62>',
          description: 'A personal API token; its scopes must include the scope listed.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', description: 'Stable; switch on it.' },
                message: { type: 'string', description: 'For people; may change.' },
              },
            },
          },
        },
      },
    },
    paths,
  };
}

/** Every method and Fastify path the document describes, e.g. `GET /api/v1/users/:id`. */
export function describedRoutes(document: ReturnType<typeof openApiDocument>): string[] {
  return Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${fastifyPath(path)}`),
  );
}
