import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/config.ts';

/** May the peer at `address`, `hop` proxies from us, tell us who it forwards for? */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * The trusted-proxy setting as one function, handed to Fastify and used by the fast path, so
 * both read a client's address the same way. Behind a unix socket every peer is a local proxy
 * (there is no peer address to check), so its X-Forwarded-For is believed.
 */
export function proxyTrust(config: Pick<Config, 'socket' | 'trustProxy'>): ProxyTrust {
  const setting = config.socket && config.trustProxy === 'loopback' ? true : config.trustProxy;
  if (setting === true) return () => true;
  if (setting === false) return () => false;
  return proxyAddr.compile(setting.split(',').map((s) => s.trim()));
}

/**
 * The client's address for rate limits, sessions and the audit log. On a unix socket there is
 * no peer address: the proxy in front tells us through X-Forwarded-For (trusted, because only
 * local processes reach the socket), and without it every client shares one bucket, "local".
 */
export function clientAddress(request: FastifyRequest): string {
  return request.ip || 'local';
}

/** The same for a request answered before Fastify (see fast-path.ts). */
export function rawClientAddress(req: IncomingMessage, trust: ProxyTrust): string {
  return proxyAddr(req, trust) || 'local';
}
