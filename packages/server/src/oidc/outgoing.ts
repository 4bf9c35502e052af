// Requests the provider sends on its own (a client's JWKS, its sector identifier, back-channel
// logout tokens) go to URLs a client registered. An administrator's URLs may be on the private
// network a community's services live on. A URL registered by anyone holding an initial access
// token may not: a request to it must not reach loopback, link-local, private, unique-local or
// other special-use addresses, whether the URL names one or its host name resolves to one. The
// check is made on the address the connection is opened to (the lookup the socket uses), so a
// name that resolves differently at fetch time than at registration (DNS rebinding) is caught.

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';

const SPECIAL_USE = new BlockList();
// IANA's special-purpose registries, with the private and multicast ranges.
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  SPECIAL_USE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // IPv4/IPv6 translation
  ['64:ff9b:1::', 48], // local-use translation
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo included)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds any IPv4 address
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  SPECIAL_USE.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is loopback, link-local, private, unique-local or otherwise special. */
export function isSpecialUseAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(plain);
  if (family === 4) return SPECIAL_USE.check(plain, 'ipv4');
  if (family !== 6) return false;
  // IPv4-mapped addresses are checked as the IPv4 address they carry.
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (dotted) return SPECIAL_USE.check(dotted[1]!, 'ipv4');
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(plain);
  if (hex) {
    const [high, low] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)];
    return SPECIAL_USE.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, 'ipv4');
  }
  return SPECIAL_USE.check(plain, 'ipv6');
}

/**
 * Whether a URL's host is, as written, one a request from Gatehouse must not reach: a
 * special-use address or a name for the local machine. (Other names are checked when they
 * are resolved, at fetch time.)
 */
export function isSpecialUseHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isSpecialUseAddress(host);
}

export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
  readonly code = 'ERR_SPECIAL_USE_ADDRESS';
}

const refusal = (host: string, address: string) =>
  new RefusedAddressError(
    `${host} is ${host === address ? '' : `resolved to ${address}, `}a loopback, private, link-local or other special-use address; Gatehouse sends no request there for a client registered through dynamic registration`,
  );

/** A socket lookup that refuses special-use addresses (all of them, if a name has several). */
export function guardedLookup(base: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, found) => {
      if (err) return callback(err, '', 0);
      const addresses = found as unknown as LookupAddress[];
      const bad = addresses.find((a) => isSpecialUseAddress(a.address));
      if (bad || addresses.length === 0)
        return callback(refusal(hostname, bad?.address ?? 'nothing'), '', 0);
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

type FetchInit = RequestInit & { dispatcher?: unknown };

/**
 * fetch() for URLs registered by anyone: over node:http with guardedLookup, never following a
 * redirect (a 3xx is answered as it is), honouring the provider's method, headers, body and
 * time limit.
 */
export function guardedFetch(
  url: string | URL,
  init: FetchInit = {},
  lookup: LookupFunction = guardedLookup(),
): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    return Promise.reject(new TypeError(`${target.protocol} URLs are not fetched`));
  if (isSpecialUseHost(target.hostname))
    return Promise.reject(refusal(target.hostname, target.hostname));
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body =
    init.body === undefined || init.body === null
      ? undefined
      : typeof init.body === 'string'
        ? init.body
        : init.body instanceof URLSearchParams
          ? init.body.toString()
          : null;
  if (body === null) return Promise.reject(new TypeError('unsupported request body'));
  if (init.body instanceof URLSearchParams && !headers['content-type'])
    headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: init.method ?? 'GET',
        headers,
        lookup,
        // A fresh connection per request: a pooled socket was checked for another name.
        agent: false,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res: IncomingMessage) => resolve(toResponse(res)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

const NO_BODY = new Set([204, 205, 304]);

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  }
  const code = res.statusCode ?? 0;
  const status = code >= 200 && code <= 599 ? code : 502;
  if (NO_BODY.has(status)) {
    res.resume();
    return new Response(null, { status, headers });
  }
  return new Response(Readable.toWeb(res) as ReadableStream, { status, headers });
}
