// What the proxy is asking about: the original request's method, scheme, host and path, read
// from the headers each proxy sends. NGINX's auth_request sends the URL in one header
// (X-Original-URL, set in its config); Traefik's ForwardAuth and Caddy's forward_auth send
// X-Forwarded-Method, -Proto, -Host and -Uri.
//
// Both header styles can reach us in one request, because every one of these proxies also
// passes the client's own headers on to the auth endpoint: a client behind Traefik can add
// X-Original-URL, a client behind NGINX can add X-Forwarded-Uri. When both are present they
// must agree, or the request is refused; so a forged header can only ever make the check fail.
// The same holds for every pair that can disagree: X-Original-Method and X-Forwarded-Method,
// the URL's scheme and X-Forwarded-Proto, its host and X-Forwarded-Host, its path and
// X-Forwarded-Uri. One check compares them all (disagreement()).

import { literalPath, otherReadings, rawPathOf, rawReadings } from './path-readings.ts';

export type HeaderValue = string | string[] | undefined;
export type Headers = Record<string, HeaderValue>;

export interface OriginalRequest {
  /** Which headers described it: nginx-style (one URL header) or forwarded-style. */
  readonly style: 'original-url' | 'forwarded';
  readonly method: string;
  /** Lower-case ASCII host name without the port (IDNA hosts in punycode). */
  readonly host: string;
  /** The path rules match: dot segments resolved, percent-escapes of unreserved characters decoded. */
  readonly path: string;
  /**
   * How other common servers read the same path, where that differs from `path`: a rule must
   * be chosen the same way under every reading (see path-readings.ts). Usually empty.
   */
  readonly readings: readonly string[];
  /** The full URL, for the login page to send the member back to. */
  readonly url: string;
}

export type Parsed = { ok: true; value: OriginalRequest } | { ok: false; message: string };

/** Longer than any URL a browser sends to a real site; beyond it the request is refused. */
export const MAX_URL_LENGTH = 8192;
const METHOD = /^[A-Z]{1,20}$/;

/** What one header says about one part of the original request, normalised for comparing. */
interface Claim {
  readonly part: 'method' | 'scheme' | 'host' | 'path and query';
  readonly header: string;
  readonly value: string;
}

/**
 * The one check that the headers agree: every part of the request (method, scheme, host,
 * path and query) that two headers both describe must be described the same way. Returns the
 * refusal's message, or null. A client can add any of these headers; if one it added were
 * read while the proxy's own disagreed, it would choose the rule that is applied.
 */
function disagreement(claims: readonly Claim[]): string | null {
  const first = new Map<Claim['part'], Claim>();
  for (const c of claims) {
    const seen = first.get(c.part);
    if (!seen) first.set(c.part, c);
    else if (seen.value !== c.value)
      return `${seen.header} and ${c.header} describe different requests (the ${c.part} differs)`;
  }
  return null;
}

function single(headers: Headers, name: string): string | undefined | null {
  const v = headers[name];
  if (Array.isArray(v)) return null; // repeated: which one would the proxy have meant?
  return v;
}

/** A header that is absent or empty (NGINX's `proxy_set_header X ""` sends none) says nothing. */
const given = (v: string | undefined): v is string => v !== undefined && v !== '';

const refuse = (message: string): { ok: false; message: string } => ({ ok: false, message });

type FromUrl = { ok: true; url: URL; value: OriginalRequest } | { ok: false; message: string };

function fromUrl(raw: string, method: string, style: OriginalRequest['style']): FromUrl {
  if (raw.length > MAX_URL_LENGTH) return refuse('the original URL is too long');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('the original URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return refuse('the original URL must be http or https');
  if (url.username || url.password) return refuse('the original URL must not carry credentials');
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  if (!host) return refuse('the original URL has no host');
  const path = literalPath(url.pathname);
  if (path === null) return refuse('the original URL has a malformed percent-escape');
  const readings = [
    ...new Set([...otherReadings(url.pathname, path), ...rawReadings(rawPathOf(raw), path)]),
  ];
  url.hash = '';
  return { ok: true, url, value: { style, method, host, path, readings, url: url.href } };
}

/**
 * Reads the original request from the proxy's headers (lower-case names, as Node gives them).
 * `ownMethod` is the method of the request to /auth/verify (NGINX keeps the original one).
 */
export function parseOriginalRequest(
  headers: Headers,
  ownMethod: string,
  originalUrlHeader: string,
): Parsed {
  const originalUrl = single(headers, originalUrlHeader);
  const fHost = single(headers, 'x-forwarded-host');
  const fUri = single(headers, 'x-forwarded-uri');
  const fProto = single(headers, 'x-forwarded-proto');
  const fMethod = single(headers, 'x-forwarded-method');
  const oMethod = single(headers, 'x-original-method');
  if (
    originalUrl === null ||
    fHost === null ||
    fUri === null ||
    fProto === null ||
    fMethod === null ||
    oMethod === null
  )
    return refuse('a forwarding header is repeated');

  const claims: Claim[] = [];
  for (const [header, value] of [
    ['X-Original-Method', oMethod],
    ['X-Forwarded-Method', fMethod],
  ] as const) {
    if (!given(value)) continue;
    const m = value.toUpperCase();
    if (!METHOD.test(m)) return refuse('the original method is not a valid HTTP method');
    claims.push({ part: 'method', header, value: m });
  }
  const method = claims[0]?.value ?? ownMethod.toUpperCase();
  if (!METHOD.test(method)) return refuse('the original method is not a valid HTTP method');

  let proto: string | undefined;
  if (given(fProto)) {
    proto = fProto.toLowerCase();
    if (proto !== 'http' && proto !== 'https')
      return refuse('X-Forwarded-Proto must be http or https');
    claims.push({ part: 'scheme', header: 'X-Forwarded-Proto', value: `${proto}:` });
  }

  let forwarded: FromUrl | null = null;
  if (given(fHost) || given(fUri)) {
    if (!given(fHost)) return refuse('X-Forwarded-Uri needs X-Forwarded-Host');
    const uri = fUri || '/';
    if (!uri.startsWith('/') || uri.startsWith('//'))
      return refuse('X-Forwarded-Uri must be a path starting with /');
    // A host with a path, user info or a list of hosts ("a, b") fails the round trip.
    if (/[/\\@,?#\s]/.test(fHost)) return refuse('X-Forwarded-Host is not a host name');
    forwarded = fromUrl(`${proto ?? 'http'}://${fHost}${uri}`, method, 'forwarded');
    if (!forwarded.ok) return forwarded;
    claims.push({ part: 'host', header: 'X-Forwarded-Host', value: forwarded.url.host });
    if (given(fUri)) {
      const { pathname, search } = forwarded.url;
      claims.push({ part: 'path and query', header: 'X-Forwarded-Uri', value: pathname + search });
    }
  }

  let original: FromUrl | null = null;
  if (given(originalUrl)) {
    original = fromUrl(originalUrl, method, 'original-url');
    if (!original.ok) return original;
    const { protocol, host, pathname, search } = original.url;
    const name = originalUrlHeader === 'x-original-url' ? 'X-Original-URL' : originalUrlHeader;
    claims.unshift(
      { part: 'scheme', header: name, value: protocol },
      { part: 'host', header: name, value: host },
      { part: 'path and query', header: name, value: pathname + search },
    );
  }

  const conflict = disagreement(claims);
  if (conflict) return refuse(conflict);
  const chosen = original ?? forwarded;
  if (chosen) return { ok: true, value: chosen.value };
  return refuse(
    `no original URL: the proxy must send ${originalUrlHeader} (NGINX) or X-Forwarded-Host and X-Forwarded-Uri (Traefik, Caddy)`,
  );
}

/** A browser navigating (rather than a script or a command-line client) wants the login page. */
export function isNavigation(headers: Headers, method: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const mode = headers['sec-fetch-mode'];
  if (typeof mode === 'string') return mode === 'navigate';
  const accept = headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}
