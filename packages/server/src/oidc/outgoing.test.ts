import type { lookup as dnsLookup } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedFetch, guardedLookup, isSpecialUseAddress, isSpecialUseHost } from './outgoing.ts';

let server: Server;
let port: number;
const received: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A resolver that answers every name with `address`, as a rebinding DNS server would. */
const resolvesTo = (address: string) =>
  ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) =>
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }])) as typeof dnsLookup;

describe('requests to URLs registered by anyone', () => {
  it('knows loopback, private, link-local, unique-local and unspecified addresses', () => {
    for (const address of [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::',
      '::1',
      '[::1]',
      'fe80::1',
      'fd00::1',
      'fc12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
    ]) {
      expect([address, isSpecialUseAddress(address)]).toEqual([address, true]);
    }
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '2606:4700::1111',
      '172.32.0.1',
      '::ffff:8.8.8.8',
    ]) {
      expect([address, isSpecialUseAddress(address)]).toEqual([address, false]);
    }
    expect(isSpecialUseHost('localhost')).toBe(true);
    expect(isSpecialUseHost('LOCALHOST.')).toBe(true);
    expect(isSpecialUseHost('api.localhost')).toBe(true);
    expect(isSpecialUseHost('example.org')).toBe(false);
  });

  it('refuses a host name that resolves to loopback at fetch time, before connecting', async () => {
    const before = received.length;
    const lookup = guardedLookup(resolvesTo('127.0.0.1'));
    await expect(
      guardedFetch(`http://jwks.example.org:${port}/jwks`, {}, lookup),
    ).rejects.toMatchObject({
      code: 'ERR_SPECIAL_USE_ADDRESS',
      message: expect.stringContaining('jwks.example.org is resolved to 127.0.0.1'),
    });
    expect(received.length).toBe(before);
  });

  it('refuses a URL that names a special-use address or localhost outright', async () => {
    for (const url of [
      `http://127.0.0.1:${port}/x`,
      `http://localhost:${port}/x`,
      `http://[::1]:${port}/x`,
      'http://169.254.169.254/latest/meta-data/',
      'http://2130706433/',
    ]) {
      await expect(guardedFetch(url, {})).rejects.toMatchObject({
        code: 'ERR_SPECIAL_USE_ADDRESS',
      });
    }
    expect(received).toEqual([]);
  });

  it('sends the request, with its body, to an address that passes', async () => {
    // The resolver lets the loopback address through, standing in for a public one.
    const passing = ((host: string, options: unknown, callback: (...args: unknown[]) => void) =>
      resolvesTo('127.0.0.1')(host, options as never, callback as never)) as typeof dnsLookup;
    const res = await guardedFetch(
      `http://service.example.org:${port}/backchannel`,
      {
        method: 'POST',
        body: new URLSearchParams({ logout_token: 'x' }),
        redirect: 'manual',
        signal: AbortSignal.timeout(2500),
      },
      (host, options, callback) => passing(host, { ...options, all: true }, callback as never),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: 1 });
    expect(received.at(-1)).toBe('POST /backchannel');
  });
});
