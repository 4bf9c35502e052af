// What every OIDC test file starts from: a served Gatehouse with alice (and bob), a relying
// party's callback server, Chromium, and registering a client as openid-client sees it.

import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ClientInput } from '../../src/clients/clients.ts';
import type { Config } from '../../src/config/config.ts';
import {
  launchBrowser,
  newContext,
  type ServedGatehouse,
  serveTestGatehouse,
} from '../browser/chromium.ts';
import { type RelyingPartyServer, startRelyingParty } from './rp.ts';

export const PASSWORD = 'correct horse battery staple';

export interface OidcFixture {
  served: ServedGatehouse;
  rp: RelyingPartyServer;
  aliceId: string;
  /** Client secrets by client id, for tests that also act as a service. */
  secretOf: Map<string, string>;
  /** A page in a fresh browser context, closed after the test. */
  page(options?: Parameters<typeof newContext>[1]): Promise<Page>;
  /** A first-party web client for the relying party (override anything), and its openid-client configuration. */
  register(input?: Partial<ClientInput>): Promise<{
    client: Awaited<ReturnType<ServedGatehouse['gh']['clients']['create']>>['client'];
    secret: string | null;
    config: oidc.Configuration;
  }>;
}

/** Registers the suite's hooks; the fields are filled in by beforeAll. */
export function oidcFixture(options: { overrides?: Partial<Config> } = {}): OidcFixture {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const fx = {
    secretOf: new Map<string, string>(),
    async page(options: Parameters<typeof newContext>[1] = {}) {
      const context = await newContext(browser, options);
      contexts.push(context);
      return context.newPage();
    },
    async register(input: Partial<ClientInput> = {}) {
      const { client, secret } = await fx.served.gh.clients.create({
        name: 'Wiki',
        redirectUris: [`${fx.rp.origin}/cb`],
        postLogoutRedirectUris: [`${fx.rp.origin}/bye`],
        firstParty: true,
        ...input,
      });
      if (secret) fx.secretOf.set(client.clientId, secret);
      const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
      const config = await oidc.discovery(
        new URL(fx.served.baseUrl),
        client.clientId,
        undefined,
        auth,
        { execute: [oidc.allowInsecureRequests] },
      );
      return { client, secret: secret ?? null, config };
    },
  } as OidcFixture;

  beforeAll(async () => {
    fx.served = await serveTestGatehouse({
      overrides: { logLevel: (process.env.GH_LOG as never) ?? 'silent', ...options.overrides },
    });
    fx.rp = await startRelyingParty();
    browser = await launchBrowser();
    const alice = await fx.served.gh.accounts.create({
      username: 'alice',
      email: 'alice@example.org',
      name: 'Alice Liddell',
      password: PASSWORD,
    });
    fx.aliceId = alice.id;
    await fx.served.gh.accounts.create({
      username: 'bob',
      email: 'bob@example.org',
      password: PASSWORD,
    });
  });

  afterEach(async () => {
    await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), fx.served?.close(), fx.rp?.close()]);
  });

  return fx;
}
