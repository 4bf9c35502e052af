// The issuer's signing keys, fetched from its jwks_uri and kept in memory. Never fetched per
// request: a token whose `kid` is unknown triggers one refresh (at most once per cool-down), a
// background refresh runs when the set is older than `maxAgeMs`, and when the endpoint is down
// the keys already held keep working while an unknown `kid` fails closed.

import { type CryptoKey, importJWK, type JWK, type JWTHeaderParameters } from 'jose';
import { GatehouseError } from '../errors.ts';
import type { FetchLike } from './discovery.ts';

type Key = CryptoKey | Uint8Array;

/** Which key types may carry which algorithm; HS* and `none` are absent on purpose. */
const KTY_FOR_ALG: Record<string, { kty: string; crv?: string }> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
};

/** The asymmetric algorithms the SDK accepts at all. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = Object.freeze(Object.keys(KTY_FOR_ALG));

interface Held {
  jwk: JWK;
  imported: Map<string, Key>;
}

export interface KeySet {
  /** For `jwtVerify`: synchronous when the key is already imported. */
  getKey(header: JWTHeaderParameters): Key | Promise<Key>;
  /** Fetches the set now (deduplicated); on failure the held keys stay. */
  refresh(): Promise<void>;
  readonly size: number;
}

export function createKeySet(deps: {
  jwksUri: () => Promise<string>;
  fetch: FetchLike;
  now: () => number;
  cooldownMs: number;
  maxAgeMs: number;
  timeoutMs: number;
  onError?: (err: unknown) => void;
}): KeySet {
  let keys: Held[] = [];
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | null = null;

  async function load(): Promise<void> {
    attemptedAt = deps.now();
    const uri = await deps.jwksUri();
    const res = await deps.fetch(uri, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    if (!res.ok) throw new GatehouseError('issuer_unavailable', `${uri} answered ${res.status}.`);
    const body = (await res.json()) as { keys?: unknown };
    if (!body || !Array.isArray(body.keys)) {
      throw new GatehouseError('issuer_unavailable', `${uri} did not return a JWK set.`);
    }
    const previous = new Map(keys.map((k) => [thumb(k.jwk), k]));
    keys = (body.keys as JWK[])
      .filter((k) => k && typeof k === 'object' && typeof k.kty === 'string' && !k.d)
      .filter((k) => k.use === undefined || k.use === 'sig')
      // Keep already-imported keys, so a refresh does not cost a re-import.
      .map((jwk) => previous.get(thumb(jwk)) ?? { jwk, imported: new Map() });
    fetchedAt = deps.now();
  }

  function refresh(): Promise<void> {
    inflight ??= load()
      .catch((err) => {
        deps.onError?.(err);
        throw err;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  function find(header: JWTHeaderParameters): Held | undefined {
    const want = KTY_FOR_ALG[header.alg];
    if (!want) return undefined;
    // A plain loop: this runs on every verification of a first-seen token.
    let match: Held | undefined;
    let matches = 0;
    for (const k of keys) {
      const jwk = k.jwk;
      if (jwk.kty !== want.kty) continue;
      if (want.crv !== undefined && jwk.crv !== want.crv) continue;
      if (jwk.alg !== undefined && jwk.alg !== header.alg) continue;
      if (header.kid !== undefined) {
        if (jwk.kid === header.kid) return k;
        continue;
      }
      match = k;
      matches++;
    }
    // No kid: only unambiguous when the set holds a single matching key.
    return matches === 1 ? match : undefined;
  }

  async function importFor(held: Held, alg: string): Promise<Key> {
    const key = (await importJWK(held.jwk, alg)) as Key;
    held.imported.set(alg, key);
    return key;
  }

  async function slowPath(header: JWTHeaderParameters): Promise<Key> {
    let held = find(header);
    if (!held && (inflight || deps.now() - attemptedAt >= deps.cooldownMs)) {
      // Unknown kid: one refresh (or the one under way), then fail closed whatever happened.
      await (inflight ?? refresh()).catch(() => {});
      held = find(header);
    }
    if (!held) {
      throw new GatehouseError(
        'token_invalid',
        'The access token is signed with a key this service does not know.',
      );
    }
    return held.imported.get(header.alg) ?? importFor(held, header.alg);
  }

  return {
    getKey(header) {
      if (deps.now() - fetchedAt > deps.maxAgeMs && deps.now() - attemptedAt >= deps.cooldownMs) {
        // Stale: refresh in the background; the held keys answer meanwhile.
        refresh().catch(() => {});
      }
      const held = find(header);
      const key = held?.imported.get(header.alg);
      return key ?? slowPath(header);
    },
    refresh,
    get size() {
      return keys.length;
    },
  };
}

function thumb(jwk: JWK): string {
  return `${jwk.kid ?? ''}|${jwk.kty}|${jwk.n ?? ''}|${jwk.x ?? ''}|${jwk.y ?? ''}|${jwk.alg ?? ''}`;
}
