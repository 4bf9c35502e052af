// The provider session follows the Gatehouse session's configured lifetimes: it lasts no longer
// than the absolute timeout, and a Gatehouse session that expires (found by the hourly purge,
// not by a request) ends it with a back-channel logout, as a sign-out does.

import { eq } from 'drizzle-orm';
import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { sessions } from '../../src/sessions/tables.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { oidcFixture } from './fixture.ts';
import { authorize } from './rp.ts';

const HOUR = 3_600_000;
const fx = oidcFixture({
  overrides: { sessions: { idleTimeoutMs: HOUR, absoluteTimeoutMs: 2 * HOUR } },
});

/** Signs alice in to a client with back-channel logout; returns its configuration and tokens. */
async function signIn() {
  const { config } = await fx.register({ backchannelLogoutUri: `${fx.rp.origin}/backchannel` });
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${fx.rp.origin}/cb`,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const landed = await authorize(await fx.page(), url.href, fx.rp.origin);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(landed), {
    pkceCodeVerifier: verifier,
  });
  return { config, tokens };
}

const providerSessions = () =>
  fx.served.app.oidc.state.current.adapters.sessionsOf(fx.aliceId) as Promise<
    Array<{ exp?: number; loginTs?: number }>
  >;

describe(`provider session lifetimes (${storageMode()})`, () => {
  it('a provider session lasts the absolute session timeout from sign-in, not 30 days', async () => {
    await signIn();
    const [session] = await providerSessions();
    expect(session?.loginTs).toBeTypeOf('number');
    expect(session!.exp! - session!.loginTs!).toBeLessThanOrEqual(2 * 3600);
    expect(session!.exp! - session!.loginTs!).toBeGreaterThan(2 * 3600 - 120);
  });

  it('an idle-expired Gatehouse session removed by the purge ends its provider session, with back-channel logout', async () => {
    const { config, tokens } = await signIn();
    expect(await providerSessions()).not.toEqual([]);
    const since = fx.rp.logoutTokens.length;
    // Nobody used the session for longer than the idle timeout.
    await fx.served.gh.stores.database.db
      .update(sessions)
      .set({ lastSeenAt: new Date(Date.now() - 2 * HOUR) })
      .where(eq(sessions.userId, fx.aliceId));
    expect(await fx.served.gh.sessions.purgeExpired()).toBeGreaterThanOrEqual(1);
    const logoutToken = await fx.rp.nextLogout(since);
    expect(JSON.parse(Buffer.from(logoutToken.split('.')[1]!, 'base64url').toString()).sub).toBe(
      fx.aliceId,
    );
    // Every provider session of hers has ended (the logout above may be from an earlier one).
    await expect.poll(providerSessions).toEqual([]);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});
