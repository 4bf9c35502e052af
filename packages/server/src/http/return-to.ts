// Where to send a member after signing in. Only our own pages: a return URL on another site
// would make the login page an open redirect that phishing could borrow.

/** A safe local path from a submitted return URL, or "/" when it is missing or foreign. */
export function safeReturnTo(value: unknown, issuer: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 2000) return '/';
  const base = new URL(issuer);
  let target: URL;
  try {
    target = new URL(value, base);
  } catch {
    return '/';
  }
  // "//evil.example" and "/\\evil.example" parse as other hosts and are refused here.
  if (target.origin !== base.origin) return '/';
  if (target.pathname.startsWith('/login') || target.pathname.startsWith('/logout')) return '/';
  return `${target.pathname}${target.search}${target.hash}`;
}
