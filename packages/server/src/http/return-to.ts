// Where to send a member after signing in. Our own pages, and, for forward auth, the services
// on the parent domains the operator listed (`forward_auth.domains`). Anything else would make
// the login page an open redirect that phishing could borrow.

/** Is `host` one of the domains, or below one of them? */
function inDomains(host: string, domains: readonly string[]): boolean {
  for (const d of domains) if (host === d || host.endsWith(`.${d}`)) return true;
  return false;
}

/**
 * A safe place from a submitted return URL, or "/" when it is missing or foreign: a local path
 * for our own pages, or a full URL on a host inside `domains` (https, or http when the issuer
 * itself is http, as in development). The one check for every return URL (`return_to` and
 * `rd` on the login page, GET and POST, and forward auth's redirect to it): the value is
 * resolved as a browser would (WHATWG URL against the issuer), and the answer is the resolved
 * URL, never the text as given.
 */
export function safeReturnTo(
  value: unknown,
  issuer: string,
  domains: readonly string[] = [],
): string {
  if (typeof value !== 'string' || value === '' || value.length > 2000) return '/';
  const base = new URL(issuer);
  let target: URL;
  try {
    target = new URL(value, base);
  } catch {
    return '/';
  }
  // "//evil.example" and "/\\evil.example" parse as other hosts and are refused here.
  if (target.origin !== base.origin) {
    const schemeOk =
      target.protocol === 'https:' || (target.protocol === 'http:' && base.protocol === 'http:');
    // A URL with credentials ("https://wiki.example.org@evil.example") is never a service link.
    if (!schemeOk || target.username || target.password) return '/';
    const host = target.hostname.endsWith('.') ? target.hostname.slice(0, -1) : target.hostname;
    return inDomains(host, domains) ? target.href : '/';
  }
  if (target.pathname.startsWith('/login') || target.pathname.startsWith('/logout')) return '/';
  const local = `${target.pathname}${target.search}${target.hash}`;
  // Resolving can leave a path that starts with "//" ("/.//evil.test", "/x/..//evil.test",
  // "/%2e//evil.test", "/./\\evil.test"): as a relative Location that is another host, so such a
  // path goes out whole, with our origin in front.
  return local.startsWith('//') ? target.href : local;
}

/** For forward auth: would the login page send the member back to this URL? */
export function returnTargetChecker(issuer: string, domains: () => readonly string[]) {
  return (url: string) => safeReturnTo(url, issuer, domains()) !== '/';
}
