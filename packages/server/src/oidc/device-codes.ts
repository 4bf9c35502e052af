// Guessing device user codes (OWASP ASVS: rate limits on everything that guesses). A user code
// is 8 letters from 20 (about 2^34.6) and lives 10 minutes, so guessing one that a member is
// about to confirm is hard but not impossible for an unthrottled script. Wrong codes are counted
// per client address in the shared store; over the limit, the code entry answers 429 and the
// provider is not asked to look the code up. Documented in docs/integrators/oidc.md.
//
// The address is the HTTP layer's (Fastify honours the trusted-proxy setting); the provider's own
// ctx.ip would believe any X-Forwarded-For. So the Fastify route in front of the provider
// admits the request and remembers its address, and the provider's page hooks read it back
// by the raw request.

import type { IncomingMessage } from 'node:http';
import type { Throttle } from '../throttle/throttle.ts';

export const USER_CODE_GUESSES = {
  scope: 'user-code',
  /** Wrong codes an address may enter per window. A member mistyping a code needs a few. */
  maxFailures: 10,
  windowMs: 15 * 60_000,
} as const;

export function createUserCodeGuard(throttle: Throttle) {
  const { scope, maxFailures, windowMs } = USER_CODE_GUESSES;
  const admitted = new WeakMap<IncomingMessage, { address: string; wait: number | null }>();
  return {
    /** Before the provider sees a code: false when the address is shut out (for now). */
    async admit(req: IncomingMessage, address: string): Promise<boolean> {
      const verdict = await throttle.checkAddress(scope, address, maxFailures);
      admitted.set(req, { address, wait: verdict.allowed ? null : verdict.retryAfterSeconds });
      return verdict.allowed;
    },
    /** Seconds to wait when admit refused this request; null otherwise. */
    refusal(req: IncomingMessage): number | null {
      return admitted.get(req)?.wait ?? null;
    },
    /** The provider found no such code: one wrong guess from the request's address. */
    async missed(req: IncomingMessage): Promise<void> {
      const seen = admitted.get(req);
      if (seen) await throttle.failureAt(scope, seen.address, windowMs);
    },
  };
}

export type UserCodeGuard = ReturnType<typeof createUserCodeGuard>;
