// The server package's public API, for embedding Gatehouse in another Node program or test.

export { createAccounts, type User } from './accounts/accounts.ts';
export { type Config, loadConfig, makeConfig } from './config/config.ts';
export { ConfigError } from './config/errors.ts';
export { createGatehouse, type Gatehouse, openStores, type Stores } from './gatehouse.ts';
export { buildApp } from './http/app.ts';
