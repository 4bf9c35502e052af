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
 * itself is http, as in development).
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
  return `${target.pathname}${target.search}${target.hash}`;
}

/** For forward auth: would the login page send the member back to this URL? */
export function returnTargetChecker(issuer: string, domains: () => readonly string[]) {
  return (url: string) => safeReturnTo(url, issuer, domains()) !== '/';
}
