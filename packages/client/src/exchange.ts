// The generic adapter interface: the handful of things the SDK needs from any web framework to
// authenticate a request and answer it. Each adapter in `adapters/` implements it in a few lines;
// a framework without an adapter can implement it directly.

/**
 * Cookie attributes the SDK sets.
 *
 * @example
 * ```ts
 * const options: CookieOptions = { path: '/', httpOnly: true, secure: true, sameSite: 'Lax', maxAge: 3600 };
 * ```
 */
export interface CookieOptions {
  path?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
  /** Seconds; 0 deletes the cookie. */
  maxAge?: number;
}

/**
 * One request and its response, as the SDK sees them. Implement this to use the SDK with a
 * framework that has no adapter.
 *
 * @example
 * ```ts
 * import { type HttpExchange, parseCookie, serializeCookie } from 'gatehouse-client';
 *
 * function exchangeFor(req: MyRequest, res: MyResponse): HttpExchange {
 *   return {
 *     method: req.method,
 *     url: req.url, // path and query
 *     header: (name) => req.headers[name],
 *     cookie: (name) => parseCookie(req.headers.cookie, name),
 *     setCookie: (name, value, options) =>
 *       res.appendHeader('set-cookie', serializeCookie(name, value, options)),
 *     clientAddress: () => req.ip,
 *     redirect: (location) => res.redirect(303, location),
 *     sendJson: (status, body) => res.status(status).json(body),
 *   };
 * }
 * ```
 */
export interface HttpExchange {
  /** The request method, upper case. */
  readonly method: string;
  /** The path and query string as received (`/files?page=2`). */
  readonly url: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** A request cookie; when absent the SDK parses the `cookie` header itself. */
  cookie?(name: string): string | undefined;
  /** Adds a `Set-Cookie` to the response. */
  setCookie(name: string, value: string, options: CookieOptions): void;
  /** The client's address (for logs and your own rate limits). */
  clientAddress?(): string | undefined;
  /** Ends the response with a redirect (303 See Other). */
  redirect(location: string): void | Promise<void>;
  /** Ends the response with this status and JSON body. */
  sendJson(status: number, body: unknown): void | Promise<void>;
  /** Ends the response with an HTML page (refusals shown to browsers); JSON is used without it. */
  sendHtml?(status: number, html: string): void | Promise<void>;
}

/**
 * Reads one cookie from a `Cookie` header.
 *
 * @example
 * ```ts
 * parseCookie('a=1; session=xyz', 'session'); // 'xyz'
 * ```
 */
export function parseCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Formats a `Set-Cookie` header value.
 *
 * @example
 * ```ts
 * serializeCookie('session', 'xyz', { path: '/', httpOnly: true, maxAge: 60 });
 * // 'session=xyz; Path=/; Max-Age=60; HttpOnly'
 * ```
 */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  let out = `${name}=${encodeURIComponent(value)}`;
  if (options.path) out += `; Path=${options.path}`;
  if (options.maxAge !== undefined) {
    out += `; Max-Age=${Math.floor(options.maxAge)}`;
    if (options.maxAge <= 0) out += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  }
  if (options.httpOnly) out += '; HttpOnly';
  if (options.secure) out += '; Secure';
  if (options.sameSite) out += `; SameSite=${options.sameSite}`;
  return out;
}

export function readCookie(exchange: HttpExchange, name: string): string | undefined {
  return exchange.cookie ? exchange.cookie(name) : parseCookie(exchange.header('cookie'), name);
}

/**
 * A top-level browser navigation, which is answered with a redirect rather than JSON.
 *
 * @example
 * ```ts
 * if (isBrowserNavigation(exchange)) exchange.redirect('/auth/login');
 * ```
 */
export function isBrowserNavigation(exchange: HttpExchange): boolean {
  if (exchange.method !== 'GET' && exchange.method !== 'HEAD') return false;
  if (exchange.header('authorization')) return false;
  // Browsers say so; scripts (fetch, XHR) say cors / same-origin / no-cors.
  const mode = exchange.header('sec-fetch-mode');
  if (mode) return mode === 'navigate';
  return (exchange.header('accept') ?? '').includes('text/html');
}

/**
 * The bearer token of the Authorization header, or null.
 *
 * @example
 * ```ts
 * const token = bearerToken(exchange); // 'eyJ…' for "Authorization: Bearer eyJ…"
 * ```
 */
export function bearerToken(exchange: HttpExchange): string | null {
  const header = exchange.header('authorization');
  if (!header) return null;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
