// Shared by the browser tests: Debian's Chromium driven by playwright-core, and a Gatehouse
// served on loopback at the URL the browser uses.
//
// The browser reaches Gatehouse at http://localhost:<port>. Chromium treats localhost as a
// secure context, so it keeps the Secure and __Host- cookies Gatehouse sets outside dev mode
// even over plain http (checked by sign-in.test.ts); the tests need no dev mode and no TLS.

import { existsSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyListenOptions } from 'fastify';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
} from 'playwright-core';
import {
  createTestGatehouse,
  type TestGatehouse,
  type TestGatehouseOptions,
} from '../../src/testing/test-gatehouse.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches headless Chromium; close it in afterAll. `args` adds flags, e.g.
 * `--host-resolver-rules=MAP *.gatehouse.test 127.0.0.1` so test host names reach loopback.
 */
export async function launchBrowser(options: { args?: string[] } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error('Chromium is not installed: apt-get install chromium');
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}

/**
 * The user agent of the same Chromium in a window. Headless Chromium says "HeadlessChrome/…",
 * which no member's browser sends; contexts from newContext() use this one instead.
 */
export function desktopUserAgent(browser: Browser): string {
  const major = browser.version().split('.')[0];
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
}

/** A fresh, isolated context (its own cookies) with a desktop Chrome user agent by default. */
export function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  return browser.newContext({ userAgent: desktopUserAgent(browser), ...options });
}

function listen(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export interface PortReservation {
  port: number;
  /** http://localhost:<port> */
  baseUrl: string;
  /** Gives the port up; call it once the real server listens on it. */
  release(): Promise<void>;
}

/**
 * Holds a free loopback port so its URL can go into a config before the server exists.
 * Both sockets use SO_REUSEPORT, so the real server binds the port while the reservation
 * still holds it: no other process can take it in between.
 */
export async function reserveLoopbackPort(): Promise<PortReservation> {
  const holder = net.createServer((socket) => socket.destroy());
  await listen(holder, { host: '127.0.0.1', port: 0, reusePort: true });
  const { port } = holder.address() as AddressInfo;
  return {
    port,
    baseUrl: `http://localhost:${port}`,
    release: () => new Promise<void>((resolve) => holder.close(() => resolve())),
  };
}

/**
 * Listens a built Fastify app on 127.0.0.1 (a free port, or a reserved one) and returns the
 * base URL the browser uses, http://localhost:<port>. app.close() stops it.
 */
export async function serveOnLoopback(
  app: FastifyInstance,
  options: { port?: number } = {},
): Promise<string> {
  // reusePort is passed on to net.Server#listen; Fastify's types do not list it.
  const listenOptions = { host: '127.0.0.1', port: options.port ?? 0, reusePort: true };
  await app.listen(listenOptions as FastifyListenOptions);
  const { port } = app.server.address() as AddressInfo;
  return `http://localhost:${port}`;
}

export type ServedGatehouse = TestGatehouse & { baseUrl: string };

/**
 * createTestGatehouse() served on loopback, with the issuer set to the URL it is served at
 * (sessions, CSRF origin checks and OIDC all depend on it). close() stops the server and
 * removes the stores.
 */
export async function serveTestGatehouse(
  options: TestGatehouseOptions & {
    /** The host name in the issuer instead of localhost (the browser must resolve it to loopback). */
    hostname?: string;
  } = {},
): Promise<ServedGatehouse> {
  const reservation = await reserveLoopbackPort();
  const baseUrl = options.hostname
    ? `http://${options.hostname}:${reservation.port}`
    : reservation.baseUrl;
  let t: TestGatehouse | undefined;
  try {
    t = await createTestGatehouse({
      ...options,
      overrides: { ...options.overrides, issuer: baseUrl },
    });
    await serveOnLoopback(t.app, { port: reservation.port });
    return { ...t, baseUrl };
  } catch (err) {
    await t?.close();
    throw err;
  } finally {
    await reservation.release();
  }
}
