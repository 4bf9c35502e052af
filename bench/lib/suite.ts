// What a benchmark suite provides: set-up through the CLI before the server starts, then the
// requests to load once it runs. A new benchmark (forward auth, the OIDC token endpoint) is a
// new file in suites/ and one line in run.ts.

import type { GatehouseCli, RunningGatehouse } from './gatehouse.ts';

export interface LoadSpec {
  /** How the row is labelled, e.g. "GET /api/v1/me". */
  target: string;
  /** Path and query on the server. */
  path: string;
  /** Another base URL than the server's (NGINX in front of it); CPU columns still read the server. */
  baseUrl?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Every answer should have this status (default 200). */
  expectStatus?: number;
  /**
   * A second baseline for this row besides bare node:http: a row of a reference deployment
   * measured in the same run (the token endpoint against a bare oidc-provider).
   */
  reference?: { deployment: string; target: string };
}

export interface Suite {
  name: string;
  /** CLI set-up (users, clients, tokens); runs before `gatehouse serve` starts. */
  beforeStart?(cli: GatehouseCli): Promise<void>;
  /** On the running server (after the idle memory reading): sign in etc., return the loads. */
  loads(gh: RunningGatehouse): Promise<LoadSpec[]>;
}

/** A fresh suite per deployment, so state from beforeStart stays with its own server. */
export type SuiteFactory = () => Suite;
