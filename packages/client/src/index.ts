// gatehouse-client: what a service protected by Gatehouse imports.

export {
  basicAuthorization,
  createGatehouseClient,
  type GatehouseClient,
  type GatehouseClientOptions,
  type SessionOptions,
} from './client.ts';
export { GATEHOUSE_ERRORS, GatehouseError, type GatehouseErrorCode } from './errors.ts';
export * from './expression.ts';
export type { IssuerMetadata } from './lib/discovery.ts';
export type { RevocationEvent } from './lib/event-stream.ts';
export { type GatehouseUser, userFromClaims } from './user.ts';
