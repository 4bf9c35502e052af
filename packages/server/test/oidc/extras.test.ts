// The edges of the OIDC provider that flows.test.ts does not walk: guessing device user codes,
// RP-initiated logout in a browser whose provider session is gone, and a member disconnecting a
// service from the account page. openid-client is the relying party, Chromium the browser.

import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientInput } from '../../src/clients/clients.ts';
import { USER_CODE_GUESSES } from '../../src/http/oidc-device.ts';
import { createInjectClient } from '../../src/testing/inject-client.ts';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { type ServedGatehouse, serveTestGatehouse } from '../browser/chromium.ts';
import { type RelyingPartyServer, startRelyingParty } from './rp.ts';

const PASSWORD = 'correct horse battery staple';

let served: ServedGatehouse;
let rp: RelyingPartyServer;

beforeAll(async () => {
  served = await serveTestGatehouse({
    overrides: { logLevel: (process.env.GH_LOG as never) ?? 'silent' },
  });
  rp = await startRelyingParty();
  await served.gh.accounts.create({
    username: 'alice',
    email: 'alice@example.org',
    name: 'Alice Liddell',
    password: PASSWORD,
  });
});

afterAll(async () => {
  await Promise.allSettled([served?.close(), rp?.close()]);
});

async function register(input: Partial<ClientInput> = {}) {
  const { client, secret } = await served.gh.clients.create({
    name: 'Wiki',
    redirectUris: [`${rp.origin}/cb`],
    postLogoutRedirectUris: [`${rp.origin}/bye`],
    firstParty: true,
    ...input,
  });
  const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
  const config = await oidc.discovery(new URL(served.baseUrl), client.clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
  return { client, config };
}

describe(`guessing device user codes (${storageMode()})`, () => {
  /** A browser-like client at one address, on the device page's form. */
  function deviceVisitor(ip: string) {
    const c = createInjectClient(served.app, { ip });
    let xsrf = '';
    const remember = (body: string) => {
      xsrf = /name="xsrf" value="([^"]+)"/.exec(body)?.[1] ?? xsrf;
    };
    return {
      async open() {
        const res = await c.get('/oidc/device');
        remember(res.body);
        return res;
      },
      async enter(userCode: string) {
        const res = await c.post('/oidc/device', { xsrf, user_code: userCode });
        remember(res.body);
        return res;
      },
    };
  }

  it('refuses an address with 429 once it entered too many wrong codes, even the right code; other addresses go on', async () => {
    const { client } = await register({
      name: 'Workshop CLI',
      public: true,
      grantTypes: ['device_code', 'refresh_token'],
      redirectUris: [],
    });
    const started = await fetch(`${served.baseUrl}/oidc/device/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.clientId, scope: 'openid' }),
    });
    const { user_code: userCode } = (await started.json()) as { user_code: string };

    const attacker = deviceVisitor('198.51.100.7');
    expect((await attacker.open()).statusCode).toBe(200);
    for (let i = 0; i < USER_CODE_GUESSES.maxFailures; i++) {
      const wrong = await attacker.enter(`BCDF-GH${'JKLMNPQRST'[i]}${'JKLMNPQRST'[i]}`);
      expect(wrong.statusCode).toBe(200);
      expect(wrong.body).toContain('That code is not valid or has expired');
    }
    const refused = await attacker.enter('BCDF-GHJK');
    expect(refused.statusCode).toBe(429);
    const wait = Number(refused.headers['retry-after']);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(USER_CODE_GUESSES.windowMs / 1000);
    expect(refused.body).toContain('Too many wrong codes were entered from your network');
    expect(refused.body).toContain('name="user_code"');

    // The right code from the same address is refused too, without being looked up.
    const right = await attacker.enter(userCode);
    expect(right.statusCode).toBe(429);
    expect(right.body).not.toContain('Connect Workshop CLI?');

    // Another address is not affected, and the code is still waiting for its member.
    const member = deviceVisitor('198.51.100.8');
    await member.open();
    const confirm = await member.enter(userCode);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('Connect Workshop CLI?');
  });

  it('does not count codes that exist, or a form sent without a code', async () => {
    const { client } = await register({
      name: 'Printer CLI',
      public: true,
      grantTypes: ['device_code'],
      redirectUris: [],
    });
    const visitor = deviceVisitor('198.51.100.9');
    await visitor.open();
    for (let i = 0; i < USER_CODE_GUESSES.maxFailures + 2; i++) {
      const started = await fetch(`${served.baseUrl}/oidc/device/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: client.clientId, scope: 'openid' }),
      });
      const { user_code: userCode } = (await started.json()) as { user_code: string };
      expect((await visitor.enter(userCode)).statusCode).toBe(200);
      expect((await visitor.enter('')).statusCode).toBe(200);
    }
  });
});
