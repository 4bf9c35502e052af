// How a JSON API route is written: one object with zod schemas for its input and output, a
// summary and the scope it needs. `registerApiRoutes` turns each into a Fastify route (with
// authentication, rate limits, validation and idempotency) and `openApiDocument` into its
// OpenAPI 3.1 description, so the document can never disagree with the code.
//
//     export const getWidget = defineRoute({
//       id: 'getWidget',                         // OpenAPI operationId, unique
//       method: 'GET',
//       path: '/api/v1/widgets/{id}',            // OpenAPI style; becomes /api/v1/widgets/:id
//       summary: 'A widget',
//       tags: ['widgets'],
//       scope: 'widgets:read',                   // a token must carry it; null: any valid credential
//       params: z.strictObject({ id: z.uuid() }),
//       response: widgetSchema,                  // omit for 204 No Content
//       async handler({ params, user, gh }) {
//         const widget = await gh.widgets.get(user.id, params.id);
//         if (!widget) throw new HttpError('NOT_FOUND');
//         return widgetJson(widget);
//       },
//     });
//
// Rules the pipeline applies to every route, so a handler only does its job:
// - Credentials: a session cookie (writes also need the CSRF token in `X-CSRF-Token`) or
//   `Authorization: Bearer gth_api_…`. None or invalid → 401 UNAUTHENTICATED. A token whose
//   scopes lack `scope` → 403 INSUFFICIENT_SCOPE. A session holds the member scopes, and
//   `gatehouse:admin` when the member is an administrator.
// - Input: `params`, `query` and `body` are parsed with their schemas before the handler runs
//   (use z.strictObject so unknown fields are refused). A failure → 400 BAD_REQUEST naming the
//   field. A route without `body` refuses one. Bodies over `bodyLimit` → 413.
// - Output: the handler returns the response body (JSON, snake_case), or nothing for 204.
//   Throw HttpError (http/errors.ts), AccountError, ApiTokenError, ClientError or AccessError
//   (its `details` are sent beside the code) for refusals; each becomes
//   `{ "error": { "code", "message" } }` with its status.
// - `idempotent: true` (for POSTs that create something): an `Idempotency-Key` header replays
//   the first response for 24 hours; the same key with another body → 422.
// - Lists: put `...pageQuery` in the query schema, return `page(items, next)` and describe the
//   response with `pageOf(itemSchema)`; see pagination.ts.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { User } from '../../accounts/accounts.ts';
import type { Gatehouse } from '../../gatehouse.ts';

/** What the pipeline established about the caller. */
export type ApiAuth =
  | { kind: 'session'; sessionId: string }
  | { kind: 'token'; tokenId: string; scopes: readonly string[] };

type Input<T> = T extends z.ZodType ? z.output<T> : undefined;
type Output<T> = T extends z.ZodType ? z.input<T> : undefined;
type Schema = z.ZodType | undefined;

export interface ApiContext<P, Q, B> {
  gh: Gatehouse;
  request: FastifyRequest;
  reply: FastifyReply;
  /** The member the session or token acts for; never disabled. */
  user: User;
  auth: ApiAuth;
  /** The client's address (for the audit log). */
  address: string;
  params: P;
  query: Q;
  body: B;
}

export interface ApiRouteDefinition<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
  R extends Schema = undefined,
> {
  /** Unique OpenAPI operationId, e.g. `listMySessions`. */
  id: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** OpenAPI-style path under /api/v1, with `{name}` parameters. */
  path: `/api/v1/${string}`;
  summary: string;
  description?: string;
  tags: string[];
  /**
   * The scope a token must carry (see scopes.ts). null: any valid token or session of the
   * member — only for "who am I".
   */
  scope: string | null;
  params?: P;
  query?: Q;
  body?: B;
  /** The success body's schema; without it the route answers 204 No Content. */
  response?: R;
  /** Success status when there is a body (default 200; 201 for creations). */
  status?: 200 | 201;
  /** Accepts `Idempotency-Key`: for POSTs that create something and can be retried. */
  idempotent?: boolean;
  /** Refusals worth documenting beyond the usual ones: status → when. */
  errors?: Record<number, string>;
  /** Body size limit in bytes (default API_BODY_LIMIT). */
  bodyLimit?: number;
  handler(
    ctx: ApiContext<Input<P>, Input<Q>, Input<B>>,
  ): Promise<R extends z.ZodType ? Output<R> : void>;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of routes of every shape
export type AnyApiRoute = ApiRouteDefinition<any, any, any, any>;

/** Identity at run time; gives the handler's context its types from the schemas. */
export function defineRoute<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
  R extends Schema = undefined,
>(route: ApiRouteDefinition<P, Q, B, R>): ApiRouteDefinition<P, Q, B, R> {
  return route;
}

/** JSON bodies are small; bigger ones are refused with 413 before they are parsed. */
export const API_BODY_LIMIT = 16 * 1024;

/** `/api/v1/users/{id}` → `/api/v1/users/:id` */
export function fastifyPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}
