// Tokens are held to what was allowed, for as long as they live: a client gets tokens only
// for the resources its registration lists (and the member agreed to), a token carries only
// the claims of the scopes granted, and a client's access rule is checked again whenever a
// token is refreshed, introspected or used at userinfo, and grants are revoked when a member
// stops passing it. Driven by openid-client with Chromium as the member's browser.

import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { parseForwardAuth } from '../../src/config/forward-auth.ts';
import { readUntil } from '../../src/testing/read-stream.ts';
import { oidcFixture } from './fixture.ts';
import { authorize } from './rp.ts';

const LAB = 'https://lab.example.org';
const fx = oidcFixture({
  overrides: {
    forwardAuth: parseForwardAuth(
      { rules: [{ host: ['lab.example.org', 'other.example.org'], policy: 'signed_in' }] },
      'test',
    ),
  },
});
const { page, register } = fx;

async function jwks() {
  const res = await fetch(`${fx.served.baseUrl}/oidc/jwks`);
  return createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
}

/** A code flow with PKCE for `scope` and `resource`; the landing URL and the verifier. */
async function authorizeFor(
  config: oidc.Configuration,
  params: Record<string, string>,
  options: Parameters<typeof authorize>[3] = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${fx.rp.origin}/cb`,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    scope: 'openid',
    ...params,
  });
  const landed = await authorize(await page(), url.href, fx.rp.origin, options);
  return { landed: new URL(landed), verifier };
}

function forwardAuth(bearer: string, url = `${LAB}/bench`) {
  return fx.served.app.inject({
    url: '/auth/verify',
    headers: {
      authorization: `Bearer ${bearer}`,
      'x-original-url': url,
      accept: 'application/json',
    },
  });
}

describe('resource indicators are held to the client', () => {
  it('a client not allowed a resource gets invalid_target, at authorization and by client credentials', async () => {
    const evil = await register({ name: 'Evil', firstParty: false });
    const { landed } = await authorizeFor(evil.config, { resource: LAB });
    expect(landed.searchParams.get('error')).toBe('invalid_target');
    expect(landed.searchParams.get('code')).toBeNull();

    const machine = await register({
      name: 'Evil machine',
      grantTypes: ['client_credentials'],
      redirectUris: [],
    });
    await expect(
      oidc.clientCredentialsGrant(machine.config, { resource: LAB }),
    ).rejects.toMatchObject({
      error: 'invalid_target',
    });
  });

  it('a client allowed the resource: the consent page names it, the token carries only the granted scopes, forward auth holds it to the client', async () => {
    const lab = await register({ name: 'Lab tool', firstParty: false, resources: [LAB] });
    const consents: string[] = [];
    const { landed, verifier } = await authorizeFor(lab.config, { resource: LAB }, { consents });
    expect(consents).toHaveLength(1);
    expect(consents[0]).toContain(LAB);
    const tokens = await oidc.authorizationCodeGrant(
      lab.config,
      landed,
      { pkceCodeVerifier: verifier },
      { resource: LAB },
    );
    const { payload } = await jwtVerify(tokens.access_token, await jwks(), {
      issuer: fx.served.baseUrl,
      audience: LAB,
    });
    // Only `openid` was granted: who the member is, nothing about them.
    expect(payload.sub).toBe(fx.aliceId);
    for (const claim of [
      'email',
      'email_verified',
      'name',
      'preferred_username',
      'groups',
      'permissions',
    ])
      expect(payload).not.toHaveProperty(claim);

    const allowed = await forwardAuth(tokens.access_token);
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['remote-user']).toBe('alice');
    // Another service behind the same proxy is not the token's audience.
    expect((await forwardAuth(tokens.access_token, 'https://other.example.org/')).statusCode).toBe(
      401,
    );

    // The administrator takes the resource away: the token stops working, and no new one is issued.
    await fx.served.gh.clients.update(lab.client.clientId, { resources: [] });
    expect((await forwardAuth(tokens.access_token)).statusCode).toBe(401);
    const again = await authorizeFor(lab.config, { resource: LAB });
    expect(again.landed.searchParams.get('error')).toBe('invalid_target');
  });

  it('forward auth refuses a JWT access token once its grant is revoked (the service disconnected)', async () => {
    const lab = await register({ name: 'Lab notes', firstParty: false, resources: [LAB] });
    const { landed, verifier } = await authorizeFor(lab.config, { resource: LAB });
    const tokens = await oidc.authorizationCodeGrant(
      lab.config,
      landed,
      { pkceCodeVerifier: verifier },
      { resource: LAB },
    );
    expect((await forwardAuth(tokens.access_token)).statusCode).toBe(200);
    const disconnected = await fx.served.app.oidc.connected.disconnect(
      fx.aliceId,
      lab.client.clientId,
      { ip: null, via: 'account' },
    );
    expect(disconnected).toBe(true);
    expect((await forwardAuth(tokens.access_token)).statusCode).toBe(401);
  });

  it('asking for a resource the member has not allowed yet shows the consent page again', async () => {
    const app = await register({ name: 'Notes', firstParty: false, resources: [LAB] });
    const first: string[] = [];
    await authorizeFor(app.config, { scope: 'openid profile' }, { consents: first });
    expect(first).toHaveLength(1);
    expect(first[0]).not.toContain(LAB);
    const second: string[] = [];
    const { landed } = await authorizeFor(
      app.config,
      { scope: 'openid profile', resource: LAB },
      { consents: second },
    );
    expect(landed.searchParams.get('code')).toBeTruthy();
    expect(second).toHaveLength(1);
    expect(second[0]).toContain(LAB);
  });

  it('claims follow the scopes: email and groups only when granted', async () => {
    const { config } = await register({ resources: [LAB] });
    const { landed, verifier } = await authorizeFor(config, {
      scope: 'openid email',
      resource: LAB,
    });
    const tokens = await oidc.authorizationCodeGrant(
      config,
      landed,
      { pkceCodeVerifier: verifier },
      { resource: LAB },
    );
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ email: 'alice@example.org', email_verified: false });
    expect(claims).not.toHaveProperty('groups');
    expect(claims).not.toHaveProperty('permissions');
    expect(claims).not.toHaveProperty('name');
  });
});

describe("a client's access rule holds for as long as its tokens live", () => {
  it('after the member leaves the required group: no refresh, introspection inactive, userinfo refused, grant revoked', async () => {
    const { gh } = fx.served;
    const system = { userId: null };
    await gh.access.createGroup(system, { path: 'lab' });
    await gh.access.addMember(system, 'lab', fx.aliceId);
    const { config, client } = await register({
      name: 'Lab booking',
      accessRule: 'lab',
      backchannelLogoutUri: `${fx.rp.origin}/backchannel`,
    });
    const { landed, verifier } = await authorizeFor(config, { scope: 'openid profile' });
    const tokens = await oidc.authorizationCodeGrant(config, landed, {
      pkceCodeVerifier: verifier,
    });
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);

    const since = fx.rp.logoutTokens.length;
    await gh.access.removeMember(system, 'lab', fx.aliceId);
    // The client hears of it (back-channel logout), once its grants are revoked.
    const logoutToken = await fx.rp.nextLogout(since);
    expect(decodeJwt(logoutToken).aud).toBe(client.clientId);

    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
    await expect(
      oidc.fetchUserInfo(config, refreshed.access_token, fx.aliceId),
    ).rejects.toBeDefined();
    // Back in the group, the old refresh token stays dead: its grant was revoked.
    await gh.access.addMember(system, 'lab', fx.aliceId);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('the rule is checked at refresh, introspection and userinfo even before grants are revoked', async () => {
    const { gh } = fx.served;
    const system = { userId: null };
    await gh.access.createGroup(system, { path: 'darkroom' });
    await gh.access.addMember(system, 'darkroom', fx.aliceId);
    const { config, client } = await register({ name: 'Darkroom', accessRule: 'darkroom' });
    const { landed, verifier } = await authorizeFor(config, { scope: 'openid' });
    const tokens = await oidc.authorizationCodeGrant(config, landed, {
      pkceCodeVerifier: verifier,
    });
    // The rule changes under the client (no membership event reaches the grants).
    await gh.access.createGroup(system, { path: 'nobody' });
    await gh.clients.update(client.clientId, { accessRule: 'nobody' });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.fetchUserInfo(config, tokens.access_token, fx.aliceId)).rejects.toBeDefined();
  });
});

describe('revocation events reach only the services a member concerns', () => {
  it("a service hears of the members who signed in to it, not of everyone's", async () => {
    const used = await register({ name: 'Used', resources: [LAB] });
    const unused = await register({ name: 'Unused' });
    // The API at the resource: no redirect URIs, tied to it by the resources it lists.
    const api = await register({
      name: 'Lab API',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      postLogoutRedirectUris: [],
      resources: [LAB],
    });
    await authorizeFor(used.config, { scope: 'openid', resource: LAB });
    const stream = (clientId: string) =>
      fetch(`${fx.served.baseUrl}/api/v1/events`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${fx.secretOf.get(clientId)}`).toString('base64')}`,
        },
      });
    const usedStream = await stream(used.client.clientId);
    const unusedStream = await stream(unused.client.clientId);
    const apiStream = await stream(api.client.clientId);
    await readUntil(usedStream, ': connected');
    await readUntil(unusedStream, ': connected');
    await readUntil(apiStream, ': connected');

    const { events } = fx.served.gh;
    await events.emit({ type: 'user.changed', userId: fx.aliceId });
    await events.emit({ type: 'access.changed', userIds: '*' });
    const toUsed = await readUntil(usedStream, 'recheck-all');
    const toUnused = await readUntil(unusedStream, 'recheck-all');
    expect(toUsed).toContain(`{"type":"recheck","sub":"${fx.aliceId}"}`);
    expect(toUnused).not.toContain(fx.aliceId);
    expect(await readUntil(apiStream, 'recheck-all')).toContain(
      `{"type":"recheck","sub":"${fx.aliceId}"}`,
    );
    await apiStream.body!.cancel();
    await usedStream.body!.cancel();
    await unusedStream.body!.cancel();
  });
});
