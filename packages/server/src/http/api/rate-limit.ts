// Rate limits for the JSON API: a fixed window per API token and per client address, counted in
// the shared store so the limit holds across instances.
//
// The request path never waits for the store: each request bumps its counters in the
// background, and a counter that goes over its limit blocks its key on this instance until the
// window ends. A burst can therefore overshoot by the requests that arrive during one store
// round trip, which is the price of adding no latency to every API request.

import { createHash } from 'node:crypto';
import type { Kv } from '../../store/kv.ts';

export interface ApiLimits {
  windowMs: number;
  /** Requests per window per API token. */
  perToken: number;
  /**
   * Requests per window per client address, for requests with a token or without valid
   * credentials. Requests with a session cookie are not counted: sign-in has its own limits.
   */
  perAddress: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  windowMs: 60_000,
  perToken: 600,
  perAddress: 1200,
};

/** Store keys never hold a raw address or token id. */
function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

export function createRateLimiter(deps: {
  kv: Kv;
  limits?: Partial<ApiLimits>;
  now?: () => number;
  onError?: (err: unknown) => void;
}) {
  const limits = { ...DEFAULT_API_LIMITS, ...deps.limits };
  const now = deps.now ?? Date.now;
  // Key → end of the window in which it went over its limit.
  const blocked = new Map<string, number>();

  /**
   * Counts one request against `key` (the count lands in the background; see above). Returns the seconds to wait when the key is over its
   * limit in this window, else null.
   */
  function hit(key: string, limit: number): number | null {
    const at = now();
    const until = blocked.get(key);
    if (until !== undefined) {
      if (until > at) return Math.max(1, Math.ceil((until - at) / 1000));
      blocked.delete(key);
    }
    const window = Math.floor(at / limits.windowMs);
    const end = (window + 1) * limits.windowMs;
    deps.kv
      .incr(`apilimit:${key}:${window}`, limits.windowMs)
      .then((n) => {
        // The request that reaches the limit was the last one allowed in this window.
        if (n < limit) return;
        if (blocked.size > 100_000) blocked.clear(); // a flood of addresses: forget, recount
        blocked.set(key, end);
      })
      .catch((err) => deps.onError?.(err));
    return null;
  }

  return {
    limits,
    token: (tokenId: string) => hit(`tok:${digest(tokenId)}`, limits.perToken),
    address: (address: string) => hit(`addr:${digest(address)}`, limits.perAddress),
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
