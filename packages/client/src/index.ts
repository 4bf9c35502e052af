// gatehouse-client: what a service protected by Gatehouse imports.

export {
  basicAuthorization,
  createGatehouseClient,
  type GatehouseClient,
  type GatehouseClientOptions,
  type SessionOptions,
} from './client.ts';
export { GATEHOUSE_ERRORS, GatehouseError, type GatehouseErrorCode } from './errors.ts';
export {
  bearerToken,
  type CookieOptions,
  type HttpExchange,
  isBrowserNavigation,
  parseCookie,
  serializeCookie,
} from './exchange.ts';
export * from './expression.ts';
export {
  applyGuard,
  type GuardResult,
  type GuardRule,
  handleAuthRoute,
  optionalLogin,
  requireAccess,
  requireLogin,
  requirePermission,
  respondWithError,
} from './guards.ts';
export type { IssuerMetadata } from './lib/discovery.ts';
export type { RevocationEvent } from './lib/event-stream.ts';
export { type GatehouseUser, userFromClaims } from './user.ts';
