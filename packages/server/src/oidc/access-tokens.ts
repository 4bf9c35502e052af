// JWT access tokens that Gatehouse issued (resource indicators), checked locally: for forward
// auth, where a command-line tool may present one instead of an API token. The key set is
// read from the database once and again after a rotation or on an unknown key id.

import { createLocalJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { SigningKeys } from '../crypto/signing-keys.ts';
import type { EventBus } from '../store/events.ts';

const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
/** At most one reload for an unknown key id per this interval. */
const RELOAD_COOLDOWN_MS = 30_000;

export function createAccessTokenVerifier(deps: {
  signingKeys: SigningKeys;
  issuer: string;
  events: EventBus;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  let keys: ReturnType<typeof createLocalJWKSet> | null = null;
  let loadedAt = 0;

  async function load() {
    keys = createLocalJWKSet((await deps.signingKeys.load()).published as never);
    loadedAt = now();
    return keys;
  }
  deps.events.on((event) => {
    if (event.type === 'keys.rotated') keys = null;
  });

  /** The token's claims if Gatehouse signed it for `audience` and it has not expired; else null. */
  return async function verifyAccessToken(
    token: string,
    audience: string,
  ): Promise<JWTPayload | null> {
    if (token.split('.').length !== 3 || token.length > 8192) return null;
    const options = {
      issuer: deps.issuer,
      audience,
      algorithms: ALGORITHMS,
      typ: 'at+jwt',
      currentDate: new Date(now()),
    };
    try {
      return (await jwtVerify(token, keys ?? (await load()), options)).payload;
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey && now() - loadedAt > RELOAD_COOLDOWN_MS) {
        try {
          return (await jwtVerify(token, await load(), options)).payload;
        } catch {
          return null;
        }
      }
      return null;
    }
  };
}
