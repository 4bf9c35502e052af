// How long what the provider issues lives. Token lifetimes are documented in
// docs/integrators/oidc.md; the provider session follows the Gatehouse session.

/** Token lifetimes in seconds. */
export const TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  ClientCredentials: 3600,
  DeviceCode: 600,
  IdToken: 3600,
  Interaction: 3600,
  RefreshToken: 30 * 86_400,
  Grant: 30 * 86_400,
  PushedAuthorizationRequest: 60,
} as const;

/** The longest a token signed by a key can live: retired keys stay published this long. */
export const KEY_RETENTION_MS =
  Math.max(TTL.AccessToken, TTL.IdToken, TTL.ClientCredentials) * 1000 + 86_400_000;

/**
 * The provider session lives as long as the Gatehouse session it stands for can: until the
 * signed-in session's absolute lifetime ends (counted from the sign-in, which is the Gatehouse
 * session's start), so it is never gone while a Gatehouse session could still end it and
 * send the back-channel logouts. A session no one signed in to lasts the idle timeout.
 */
export function providerSessionTtl(
  lifetimes: { idleTimeoutMs: number; absoluteTimeoutMs: number },
  now: () => number,
) {
  return (_ctx: unknown, session: { loginTs?: number }) => {
    const nowS = Math.floor(now() / 1000);
    const until =
      typeof session.loginTs === 'number'
        ? session.loginTs + Math.ceil(lifetimes.absoluteTimeoutMs / 1000)
        : nowS + Math.ceil(lifetimes.idleTimeoutMs / 1000);
    return Math.max(1, until - nowS);
  };
}
