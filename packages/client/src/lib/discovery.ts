// The issuer's OpenID Provider metadata, fetched once from
// `<issuer>/.well-known/openid-configuration` and kept; a failed fetch is not remembered, so the
// next call tries again.

import { GatehouseError } from '../errors.ts';

/**
 * The endpoints the SDK uses, as published by the issuer.
 *
 * @example
 * ```ts
 * const meta: IssuerMetadata = await gatehouse.metadata();
 * console.log(meta.end_session_endpoint);
 * ```
 */
export interface IssuerMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  introspection_endpoint?: string;
  jwks_uri: string;
  end_session_endpoint?: string;
  [key: string]: unknown;
}

export type FetchLike = typeof fetch;

export function createDiscovery(deps: {
  issuer: string;
  fetch: FetchLike;
  timeoutMs: number;
}): () => Promise<IssuerMetadata> {
  let cached: IssuerMetadata | null = null;
  let inflight: Promise<IssuerMetadata> | null = null;
  const url = `${deps.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

  async function load(): Promise<IssuerMetadata> {
    let res: Response;
    try {
      res = await deps.fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
    } catch (err) {
      throw new GatehouseError('issuer_unavailable', `Cannot reach ${url}.`, { cause: err });
    }
    if (!res.ok) {
      throw new GatehouseError('issuer_unavailable', `${url} answered ${res.status}.`);
    }
    const body = (await res.json().catch(() => null)) as IssuerMetadata | null;
    if (!body || typeof body.jwks_uri !== 'string') {
      throw new GatehouseError('issuer_unavailable', `${url} did not return OIDC metadata.`);
    }
    // The metadata must name the issuer we were configured with (OIDC Discovery §4.3).
    if (body.issuer !== deps.issuer) {
      throw new GatehouseError(
        'configuration',
        `The issuer publishes issuer "${body.issuer}", not the configured "${deps.issuer}".`,
      );
    }
    return body;
  }

  return () => {
    if (cached) return Promise.resolve(cached);
    inflight ??= load().then(
      (m) => {
        cached = m;
        inflight = null;
        return m;
      },
      (err) => {
        inflight = null;
        throw err;
      },
    );
    return inflight;
  };
}
