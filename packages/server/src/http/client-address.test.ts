import { describe, expect, it } from 'vitest';
import { proxyTrust } from './client-address.ts';

describe('proxyTrust', () => {
  it('reads the trusted-proxy setting the same way for Fastify and the fast path', () => {
    const loopback = proxyTrust({ socket: null, trustProxy: 'loopback' });
    expect(loopback('127.0.0.1', 0)).toBe(true);
    expect(loopback('::1', 0)).toBe(true);
    expect(loopback('10.0.0.1', 0)).toBe(false);

    const list = proxyTrust({ socket: null, trustProxy: '10.0.0.5, 10.1.0.0/16' });
    expect(list('10.0.0.5', 0)).toBe(true);
    expect(list('10.1.200.3', 1)).toBe(true);
    expect(list('10.0.0.6', 0)).toBe(false);

    expect(proxyTrust({ socket: null, trustProxy: true })('203.0.113.9', 3)).toBe(true);
    expect(proxyTrust({ socket: null, trustProxy: false })('127.0.0.1', 0)).toBe(false);
    // Behind a unix socket there is no peer address; only local processes can connect.
    expect(proxyTrust({ socket: '/run/gh.sock', trustProxy: 'loopback' })('', 0)).toBe(true);
  });
});
