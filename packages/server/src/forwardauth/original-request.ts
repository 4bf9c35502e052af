// What the proxy is asking about: the original request's method, scheme, host and path, read
// from the headers each proxy sends. NGINX's auth_request sends the URL in one header
// (X-Original-URL, set in its config); Traefik's ForwardAuth and Caddy's forward_auth send
// X-Forwarded-Method, -Proto, -Host and -Uri.
//
// Both header styles can reach us in one request, because every one of these proxies also
// passes the client's own headers on to the auth endpoint: a client behind Traefik can add
// X-Original-URL, a client behind NGINX can add X-Forwarded-Uri. When both are present they
// must agree, or the request is refused; so a forged header can only ever make the check fail.

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
  /** The full URL, for the login page to send the member back to. */
  readonly url: string;
}

export type Parsed = { ok: true; value: OriginalRequest } | { ok: false; message: string };

/** Longer than any URL a browser sends to a real site; beyond it the request is refused. */
export const MAX_URL_LENGTH = 8192;
const METHOD = /^[A-Z]{1,20}$/;

function single(headers: Headers, name: string): string | undefined | null {
  const v = headers[name];
  if (Array.isArray(v)) return null; // repeated: which one would the proxy have meant?
  return v;
}

const refuse = (message: string): Parsed => ({ ok: false, message });

/** Resolves dot segments and decodes what is safe to decode; null when malformed. */
function rulePath(url: URL): string | null {
  try {
    // decodeURI leaves reserved characters (%2F, %3F, %23…) encoded, so "/a%2Fb" stays one segment.
    return decodeURI(url.pathname);
  } catch {
    return null;
  }
}

function fromUrl(raw: string, method: string, style: OriginalRequest['style']): Parsed {
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
  const path = rulePath(url);
  if (path === null) return refuse('the original URL has a malformed percent-escape');
  url.hash = '';
  return { ok: true, value: { style, method, host, path, url: url.href } };
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

  const rawMethod = (oMethod ?? fMethod ?? ownMethod).toUpperCase();
  if (!METHOD.test(rawMethod)) return refuse('the original method is not a valid HTTP method');

  let forwarded: Parsed | null = null;
  if (fHost !== undefined || fUri !== undefined) {
    if (!fHost) return refuse('X-Forwarded-Uri needs X-Forwarded-Host');
    const proto = (fProto ?? 'http').toLowerCase();
    if (proto !== 'http' && proto !== 'https')
      return refuse('X-Forwarded-Proto must be http or https');
    const uri = fUri || '/';
    if (!uri.startsWith('/') || uri.startsWith('//'))
      return refuse('X-Forwarded-Uri must be a path starting with /');
    // A host with a path, user info or a list of hosts ("a, b") fails the round trip.
    if (/[/\\@,?#\s]/.test(fHost)) return refuse('X-Forwarded-Host is not a host name');
    forwarded = fromUrl(`${proto}://${fHost}${uri}`, rawMethod, 'forwarded');
    if (!forwarded.ok) return forwarded;
  }
  if (originalUrl !== undefined && originalUrl !== '') {
    const parsed = fromUrl(originalUrl, rawMethod, 'original-url');
    if (!parsed.ok || !forwarded) return parsed;
    // Both styles present: a client added one of them. They must describe the same request.
    const a = new URL(parsed.value.url);
    const b = new URL(forwarded.value.url);
    if (a.host !== b.host || a.pathname + a.search !== b.pathname + b.search)
      return refuse('X-Original-URL and X-Forwarded-Host/-Uri describe different requests');
    return parsed;
  }
  if (forwarded) return forwarded;
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
