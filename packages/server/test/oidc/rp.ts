// A relying party's side of the tests: a loopback server that receives redirects (query,
// fragment, form_post) and back-channel logout tokens, and a Chromium helper that follows an
// authorization request through Gatehouse's sign-in and consent pages to the redirect.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';

export interface Received {
  method: string;
  url: string;
  body: string;
}

export interface RelyingPartyServer {
  origin: string;
  /** Every request the server received, newest last. */
  received: Received[];
  /** Back-channel logout tokens received. */
  logoutTokens: string[];
  /** Resolves when a back-channel logout arrives (or one already has since `since`). */
  nextLogout(since?: number): Promise<string>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startRelyingParty(): Promise<RelyingPartyServer> {
  const received: Received[] = [];
  const logoutTokens: string[] = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    received.push({ method: req.method ?? 'GET', url: req.url ?? '/', body });
    if (req.url === '/backchannel') {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) logoutTokens.push(token);
      for (const w of waiters.splice(0)) w();
      res.writeHead(200).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>RP</title><p>relying party</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    logoutTokens,
    nextLogout(since = logoutTokens.length) {
      return new Promise((resolve) => {
        const check = () => {
          if (logoutTokens.length > since) resolve(logoutTokens[since]!);
          else waiters.push(check);
        };
        check();
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface AuthorizeOptions {
  username?: string;
  password?: string;
  consent?: 'allow' | 'deny';
  /** Pages seen on the way, for assertions such as "no sign-in page was shown". */
  seen?: string[];
  /** The text of each consent page shown, for assertions on what it names. */
  consents?: string[];
}

/**
 * Opens an authorization URL and answers whatever Gatehouse asks (sign in, consent) until the
 * browser lands on the relying party. Returns the final URL.
 */
export async function authorize(
  page: Page,
  url: string,
  rpOrigin: string,
  o: AuthorizeOptions = {},
) {
  await page.goto(url);
  for (let step = 0; step < 6; step++) {
    const current = new URL(page.url());
    o.seen?.push(current.pathname);
    if (current.origin === rpOrigin) return page.url();
    const before = page.url();
    if (current.pathname === '/login') {
      await page.getByLabel('Username or email').fill(o.username ?? 'alice');
      await page.getByLabel('Password').fill(o.password ?? 'correct horse battery staple');
      await page.getByRole('button', { name: 'Sign in' }).click();
    } else if (
      current.pathname.startsWith('/oidc/interaction/') &&
      (await page.getByRole('button', { name: 'Allow' }).count()) > 0
    ) {
      o.consents?.push(((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' '));
      await page.getByRole('button', { name: o.consent === 'deny' ? 'Deny' : 'Allow' }).click();
    } else {
      const text =
        (await page
          .locator('main')
          .textContent()
          .catch(() => null)) ?? (await page.content());
      throw new Error(
        `stopped at ${current.pathname}: ${text.replace(/\s+/g, ' ').trim().slice(0, 300)}`,
      );
    }
    await page.waitForURL((u) => u.href !== before);
    await page.waitForLoadState('load');
  }
  throw new Error(`did not reach the relying party; at ${page.url()}`);
}
